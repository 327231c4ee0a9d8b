using Microsoft.Extensions.Time.Testing;

namespace QuDag.Network.Tests;

/// <summary>The per-peer circuit breaker over real dials, with the break timed on a fake clock.</summary>
public class CircuitBreakerTests
{
    private static ConnectionManager Manager(FakeTimeProvider time) =>
        new(new ConnectionManagerOptions { TimeProvider = time, KeepAliveInterval = TimeSpan.Zero });

    [Fact]
    public async Task Five_failed_dials_open_the_circuit_and_connects_fail_fast_until_a_trial_succeeds()
    {
        var time = new FakeTimeProvider();
        await using var peer = await FlakyPeer.StartAsync();
        await using var manager = Manager(time);
        var id = peer.Identity.PeerId;
        manager.AddPeer(id, peer.EndPoint);

        for (var i = 1; i <= 5; i++)
        {
            var failure = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(id));
            Assert.NotEqual(ConnectFailureKind.CircuitOpen, failure.Kind);
            Assert.Equal(i, manager.GetPeer(id)!.ConsecutiveFailures);
        }
        await Wait.UntilAsync(() => peer.Accepts == 5, "five dials reached the peer");
        var open = manager.GetPeer(id)!;
        Assert.Equal(CircuitState.Open, open.CircuitState);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(60), open.CircuitOpenUntil);
        Assert.Equal(1, manager.GetMetrics().OpenCircuits);

        var fast = await Assert.ThrowsAsync<PeerCircuitOpenException>(() => manager.ConnectAsync(id));
        Assert.Equal(ConnectFailureKind.CircuitOpen, fast.Kind);
        Assert.Equal(open.CircuitOpenUntil, fast.RetryAt);
        Assert.Equal(1, manager.GetMetrics().CircuitRejections);
        Assert.Equal(0, manager.OpenConnections);
        // The real cause is kept: a socket dropped before multistream-select, whether read as an EOF or a reset.
        Assert.StartsWith($"{peer.EndPoint} did not negotiate a security protocol", manager.GetPeer(id)!.LastError);

        time.Advance(TimeSpan.FromSeconds(60));
        peer.Healthy = true;
        await manager.ConnectAsync(id); // the half-open trial

        var closed = manager.GetPeer(id)!;
        Assert.Equal(ConnectionStatus.Connected, closed.Status);
        Assert.Equal(CircuitState.Closed, closed.CircuitState);
        Assert.Equal(0, closed.ConsecutiveFailures);
        Assert.Equal(0, manager.GetMetrics().OpenCircuits);
        Assert.Equal(6, peer.Accepts); // the rejected connect never dialed
    }

    [Fact]
    public async Task A_failed_trial_opens_the_circuit_for_another_break()
    {
        var time = new FakeTimeProvider();
        await using var peer = await FlakyPeer.StartAsync();
        await using var manager = Manager(time);
        var id = peer.Identity.PeerId;
        manager.AddPeer(id, peer.EndPoint);
        for (var i = 0; i < 5; i++)
            await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(id));

        time.Advance(TimeSpan.FromSeconds(60));
        var trial = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(id));
        Assert.NotEqual(ConnectFailureKind.CircuitOpen, trial.Kind);

        Assert.Equal(CircuitState.Open, manager.GetPeer(id)!.CircuitState);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(60), manager.GetPeer(id)!.CircuitOpenUntil);
        await Assert.ThrowsAsync<PeerCircuitOpenException>(() => manager.ConnectAsync(id));
    }

    [Fact]
    public async Task A_success_restarts_the_count_so_only_failures_in_a_row_open_it()
    {
        var time = new FakeTimeProvider();
        await using var peer = await FlakyPeer.StartAsync();
        await using var manager = Manager(time);
        var id = peer.Identity.PeerId;
        manager.AddPeer(id, peer.EndPoint);
        for (var i = 0; i < 4; i++)
            await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(id));
        peer.Healthy = true;
        await manager.ConnectAsync(id);
        await manager.DisconnectAsync(id, close: true);
        peer.Healthy = false;

        for (var i = 0; i < 4; i++)
            await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(id));
        Assert.Equal(CircuitState.Closed, manager.GetPeer(id)!.CircuitState);

        await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(id));
        Assert.Equal(CircuitState.Open, manager.GetPeer(id)!.CircuitState);
    }

    [Fact]
    public async Task Threshold_zero_turns_the_breaker_off()
    {
        await using var peer = await FlakyPeer.StartAsync();
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { CircuitBreakerFailureThreshold = 0 });
        var id = peer.Identity.PeerId;
        manager.AddPeer(id, peer.EndPoint);
        for (var i = 0; i < 8; i++)
        {
            var failure = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(id));
            Assert.NotEqual(ConnectFailureKind.CircuitOpen, failure.Kind);
        }
        Assert.Equal(CircuitState.Closed, manager.GetPeer(id)!.CircuitState);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    public void A_threshold_of_one_or_below_zero_is_refused(int threshold) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionManager(new ConnectionManagerOptions { CircuitBreakerFailureThreshold = threshold }));
}
