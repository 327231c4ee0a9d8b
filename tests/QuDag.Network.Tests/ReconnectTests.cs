using Microsoft.Extensions.Time.Testing;

namespace QuDag.Network.Tests;

/// <summary>Automatic reconnect (Polly retry with exponential backoff) over real sockets; backoff on a fake clock.</summary>
public class ReconnectTests
{
    private static ConnectionManagerOptions Options(TimeProvider? time = null, bool jitter = false) => new()
    {
        TimeProvider = time ?? TimeProvider.System,
        KeepAliveInterval = TimeSpan.Zero,
        AutoReconnect = true,
        ReconnectJitter = jitter,
    };

    [Fact]
    public async Task A_connection_the_remote_closed_is_redialed_at_once()
    {
        await using var remote = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(Options());
        await manager.ConnectAsync(remote.Id, remote.EndPoint);
        await Wait.UntilConnectedAsync(remote.Manager, manager.LocalPeerId);

        await remote.Manager.DisconnectAsync(manager.LocalPeerId, close: true);

        await Wait.UntilAsync(() => manager.GetMetrics().Reconnects == 1, "the lost connection was redialed");
        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(remote.Id));
        await manager.PingAsync(remote.Id);
    }

    [Fact]
    public async Task A_peer_known_only_from_its_inbound_connection_is_redialed_at_the_address_its_identify_announced()
    {
        // The remote dials us; we have no address book entry for it, only what its identify said it listens on.
        await using var remote = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(Options());
        var ours = await manager.ListenAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        await remote.Manager.ConnectAsync(manager.LocalPeerId, ours.LocalEndPoint);
        await Wait.UntilConnectedAsync(manager, remote.Id);
        var info = await manager.IdentifyAsync(remote.Id);
        Assert.Contains(info.ListenAddresses, a => a.TryGetEndPoint(out var ep) && ep.Equals(remote.EndPoint));
        Assert.Null(manager.GetEndPoint(remote.Id));
        Assert.Equal(0, remote.Listener.AcceptedCount);

        await remote.Manager.DisconnectAsync(manager.LocalPeerId, close: true);

        await Wait.UntilAsync(() => manager.GetMetrics().Reconnects == 1, "the lost inbound peer was redialed");
        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(remote.Id));
        Assert.Equal(1, remote.Listener.AcceptedCount); // we dialed its announced listener
        Assert.False(manager.GetPeer(remote.Id)!.Inbound);
        await manager.PingAsync(remote.Id);
    }

    /// <summary>Connects to a healthy <see cref="FlakyPeer"/>, then has it drop the connection and refuse from then on.</summary>
    private static async Task<PeerId> ConnectThenLoseAsync(ConnectionManager manager, FlakyPeer peer)
    {
        peer.Healthy = true;
        await manager.ConnectAsync(peer.Identity.PeerId, peer.EndPoint);
        peer.Healthy = false;
        await peer.DropAllAsync();
        return peer.Identity.PeerId;
    }

    [Fact]
    public async Task Backoff_doubles_from_5_seconds_to_the_5_minute_cap_and_the_peer_comes_back()
    {
        var time = new TimerWatchingTimeProvider();
        await using var peer = await FlakyPeer.StartAsync();
        var options = Options(time);
        options.ConnectTimeout = TimeSpan.FromSeconds(7); // its timers (dial, upgrade) must not pass for a backoff's
        await using var manager = new ConnectionManager(options);
        // The first attempt runs at once, on the loss; each failure then waits a backoff before the next.
        var expected = new[] { 5, 10, 20, 40, 80, 160, 300, 300 }.Select(s => TimeSpan.FromSeconds(s)).ToArray();
        var timersBefore = time.TimersCreated(expected[0]);
        var id = await ConnectThenLoseAsync(manager, peer);
        for (var i = 0; i < expected.Length; i++)
        {
            await Wait.UntilAsync(() => manager.GetPeer(id)!.ReconnectFailures == i + 1 && manager.GetPeer(id)!.ReconnectDelay == expected[i],
                $"attempt {i + 1} failed and waits {expected[i]}");
            Assert.True(manager.GetPeer(id)!.Reconnecting);
            // The backoff is announced (OnRetry) before its timer starts: advance only once the timer exists.
            await Wait.UntilAsync(() => time.TimersCreated(expected[i]) > timersBefore, $"the {expected[i]} backoff's timer started");
            if (i + 1 < expected.Length)
                timersBefore = time.TimersCreated(expected[i + 1]); // before the advance: the next attempt comes after it
            time.Advance(expected[i]);
        }
        // Five failures in a row opened the breaker; with backoff longer than its 60 s break, each later attempt is its trial.
        await Wait.UntilAsync(() => manager.GetPeer(id)!.ConsecutiveFailures == expected.Length + 1, "the ninth attempt failed");
        Assert.Equal(CircuitState.Open, manager.GetPeer(id)!.CircuitState);
        Assert.Equal(1, manager.GetMetrics().OpenCircuits);
        Assert.Equal(expected.Length + 1, peer.Accepts - 1);

        peer.Healthy = true;
        time.Advance(TimeSpan.FromMinutes(5));

        await manager.ReconnectLoopOf(id).WaitAsync(TimeSpan.FromSeconds(10));
        var back = manager.GetPeer(id)!;
        Assert.Equal(ConnectionStatus.Connected, back.Status);
        Assert.False(back.Reconnecting);
        Assert.Equal(CircuitState.Closed, back.CircuitState);
        Assert.Equal(0, manager.GetMetrics().OpenCircuits);
        var metrics = manager.GetMetrics();
        Assert.Equal(1, metrics.Reconnects);
        Assert.Equal(expected.Length + 2, metrics.ReconnectAttempts);
    }

    [Fact]
    public async Task Jitter_spreads_the_delays_under_the_cap()
    {
        var time = new TimerWatchingTimeProvider();
        await using var peer = await FlakyPeer.StartAsync();
        await using var manager = new ConnectionManager(Options(time, jitter: true));
        var id = await ConnectThenLoseAsync(manager, peer);

        var delays = new List<TimeSpan>();
        for (var i = 1; i <= 8; i++)
        {
            // Some attempts fall within the breaker's break and fail fast; every failure is followed by a backoff.
            await Wait.UntilAsync(() => manager.GetPeer(id)!.ReconnectFailures == i, $"attempt {i} failed");
            var delay = manager.GetPeer(id)!.ReconnectDelay!.Value;
            delays.Add(delay);
            // Announced before its timer starts (see above); a jittered delay names its own timer.
            await Wait.UntilAsync(() => time.TimersCreated(delay) > 0, $"the {delay} backoff's timer started");
            time.Advance(delay);
        }

        Assert.All(delays, d => Assert.InRange(d, TimeSpan.FromTicks(1), TimeSpan.FromMinutes(5)));
        var plain = new[] { 5, 10, 20, 40, 80, 160, 300, 300 }.Select(s => TimeSpan.FromSeconds(s));
        Assert.NotEqual(plain, delays);
    }

    [Fact]
    public async Task A_disconnect_on_purpose_stops_the_reconnect_loop()
    {
        var time = new FakeTimeProvider();
        await using var peer = await FlakyPeer.StartAsync();
        await using var manager = new ConnectionManager(Options(time));
        var id = await ConnectThenLoseAsync(manager, peer);
        await Wait.UntilAsync(() => manager.GetPeer(id)!.ReconnectDelay is not null, "the loop waits its first backoff");

        await manager.DisconnectAsync(id);

        await manager.ReconnectLoopOf(id).WaitAsync(TimeSpan.FromSeconds(10));
        var attempts = manager.GetMetrics().ReconnectAttempts;
        time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(attempts, manager.GetMetrics().ReconnectAttempts);
        Assert.False(manager.GetPeer(id)!.Reconnecting);
        Assert.Equal(ConnectionStatus.Disconnected, await manager.GetStatusAsync(id));
    }

    [Fact]
    public async Task Reconnect_is_per_peer_and_off_by_default()
    {
        await using var remote = await TestNode.StartAsync();
        await using var other = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { KeepAliveInterval = TimeSpan.Zero });
        manager.SetAutoReconnect(remote.Id, true);
        await manager.ConnectAsync(remote.Id, remote.EndPoint);
        await manager.ConnectAsync(other.Id, other.EndPoint);
        await Wait.UntilConnectedAsync(remote.Manager, manager.LocalPeerId);
        await Wait.UntilConnectedAsync(other.Manager, manager.LocalPeerId);

        await remote.Manager.DisconnectAsync(manager.LocalPeerId, close: true);
        await other.Manager.DisconnectAsync(manager.LocalPeerId, close: true);

        await Wait.UntilAsync(() => manager.GetMetrics().Reconnects == 1, "the opted-in peer came back");
        await Wait.UntilAsync(() => manager.GetStatusAsync(other.Id).Result == ConnectionStatus.Disconnected, "the other stays down");
        Assert.True(manager.GetPeer(remote.Id)!.AutoReconnect);
        Assert.False(manager.GetPeer(other.Id)!.AutoReconnect);
        Assert.Equal(1, manager.GetMetrics().ReconnectAttempts);
    }
}
