using Microsoft.Extensions.Time.Testing;

namespace QuDag.Network.Tests.Policy;

/// <summary>The reconnector alone, over a scripted redialer and a fake clock: backoff, stop, give-up and disposal.</summary>
public sealed class ReconnectorTests
{
    /// <summary>Fails the first <paramref name="failures"/> dials as unreachable, then connects (or throws <paramref name="error"/> each time).</summary>
    private sealed class ScriptedRedialer(int failures, Exception? error = null, bool canRedial = true) : IRedialer
    {
        private int _dials;

        public int Dials => Volatile.Read(ref _dials);

        public volatile bool Connected;

        public Task ConnectAsync(PeerId peerId, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (error is not null)
                throw error;
            if (Interlocked.Increment(ref _dials) <= failures)
                throw new PeerConnectException("unreachable", peerId, null, ConnectFailureKind.Unreachable);
            Connected = true;
            return Task.CompletedTask;
        }

        public bool IsConnected(PeerId peerId) => Connected;

        public bool CanRedial(PeerId peerId) => canRedial;
    }

    private static Func<ConnectionManagerOptions> Options(TimeProvider time, bool autoReconnect = true)
    {
        var options = new ConnectionManagerOptions { TimeProvider = time, AutoReconnect = autoReconnect, ReconnectJitter = false };
        return () => options;
    }

    [Fact]
    public async Task A_loop_backs_off_exponentially_until_the_dial_succeeds_and_counts_one_reconnect()
    {
        var time = new FakeTimeProvider();
        var redialer = new ScriptedRedialer(failures: 3);
        int attempts = 0, reconnects = 0;
        await using var reconnector = new Reconnector(Options(time), redialer, () => attempts++, () => reconnects++);
        var state = new ReconnectState();
        var peer = Ids.Unheld();

        reconnector.Start(peer, state);
        foreach (var seconds in new[] { 5, 10, 20 })
        {
            var failed = seconds switch { 5 => 1, 10 => 2, _ => 3 };
            await Wait.UntilAsync(() => state.Failures == failed, $"attempt {failed} failed");
            Assert.Equal(TimeSpan.FromSeconds(seconds), state.Delay);
            Assert.True(state.Running);
            time.Advance(TimeSpan.FromSeconds(seconds));
        }
        await state.Loop.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(state.Running);
        Assert.True(redialer.Connected);
        Assert.Equal(4, attempts);
        Assert.Equal(1, reconnects);
    }

    [Fact]
    public async Task Starting_twice_runs_one_loop_and_stopping_ends_it_without_a_reconnect()
    {
        var time = new FakeTimeProvider();
        var redialer = new ScriptedRedialer(failures: int.MaxValue);
        var reconnects = 0;
        await using var reconnector = new Reconnector(Options(time), redialer, () => { }, () => reconnects++);
        var state = new ReconnectState();
        var peer = Ids.Unheld();

        reconnector.Start(peer, state);
        var loop = state.Loop;
        reconnector.Start(peer, state);
        Assert.Same(loop, state.Loop);
        await Wait.UntilAsync(() => state.Failures == 1, "the first attempt failed");

        Reconnector.Stop(state);
        await loop.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(state.Running);
        Assert.Equal(1, redialer.Dials);
        Assert.Equal(0, reconnects);
    }

    [Fact]
    public async Task No_loop_starts_when_it_is_off_for_the_peer_or_there_is_no_address_and_a_denial_ends_it_at_once()
    {
        var time = new FakeTimeProvider();
        var peer = Ids.Unheld();

        var off = new ReconnectState();
        await using (var reconnector = new Reconnector(Options(time, autoReconnect: true), new ScriptedRedialer(0), () => { }, () => { }))
        {
            reconnector.SetEnabled(off, false);
            reconnector.Start(peer, off);
            Assert.False(off.Running);
            Assert.False(reconnector.IsEnabled(off));
        }

        var noAddress = new ReconnectState();
        await using (var reconnector = new Reconnector(Options(time), new ScriptedRedialer(0, canRedial: false), () => { }, () => { }))
        {
            reconnector.Start(peer, noAddress);
            Assert.False(noAddress.Running);
        }

        var denied = new ReconnectState();
        var attempts = 0;
        await using (var reconnector = new Reconnector(Options(time), new ScriptedRedialer(0, new PeerDeniedException(peer)), () => attempts++, () => { }))
        {
            reconnector.Start(peer, denied);
            await denied.Loop.WaitAsync(TimeSpan.FromSeconds(10));
        }
        Assert.Equal(1, attempts);
        Assert.Equal(0, denied.Failures);
    }

    [Fact]
    public async Task Disposal_ends_every_loop_waiting_in_backoff_and_then_starts_none()
    {
        var time = new FakeTimeProvider();
        var reconnector = new Reconnector(Options(time), new ScriptedRedialer(int.MaxValue), () => { }, () => { });
        var states = Enumerable.Range(0, 3).Select(_ => new ReconnectState()).ToArray();
        foreach (var state in states)
            reconnector.Start(Ids.Unheld(), state);
        await Wait.UntilAsync(() => states.All(s => s.Failures == 1), "every loop waits in backoff");

        await reconnector.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.All(states, s => Assert.True(s.Loop.IsCompleted && !s.Running));
        var late = new ReconnectState();
        reconnector.Start(Ids.Unheld(), late);
        Assert.False(late.Running);
    }
}
