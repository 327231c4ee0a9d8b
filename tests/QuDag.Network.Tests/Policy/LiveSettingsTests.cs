using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;

namespace QuDag.Network.Tests.Policy;

/// <summary>
/// ConnectionManager.Reconfigure on a running manager: every live setting is shown by its effect on real connections
/// (a refused connect, a timed-out dial, a failed keepalive, an expired pooled connection, an open breaker), never by the
/// value the manager reports back.
/// </summary>
public sealed class LiveSettingsTests
{
    [Fact]
    public async Task A_lower_limit_refuses_new_connects_and_closes_idle_ones_but_never_cuts_an_active_one()
    {
        await using var a = await TestNode.StartAsync();
        await using var b = await TestNode.StartAsync();
        await using var c = await TestNode.StartAsync();
        await using var d = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(a.Id, a.EndPoint);
        await manager.ConnectAsync(b.Id, b.EndPoint);
        await manager.ConnectAsync(c.Id, c.EndPoint);
        await manager.DisconnectAsync(c.Id); // idle in the pool

        manager.Reconfigure(o => o.MaxConnections = 1);

        // The idle one closes to make room; the two active ones stay, over the new limit.
        await Wait.UntilAsync(() => manager.OpenConnections == 2, "the pooled connection closed");
        Assert.Empty(manager.GetPooledConnections());
        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(a.Id));
        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(b.Id));
        var refused = await Assert.ThrowsAsync<ConnectionLimitReachedException>(() => manager.ConnectAsync(d.Id, d.EndPoint));
        Assert.Equal(1, refused.Limit);

        // Still over the limit after one closes: still refused. Under it: admitted.
        await manager.DisconnectAsync(a.Id, close: true);
        await Wait.UntilAsync(() => manager.OpenConnections == 1, "a closed");
        await Assert.ThrowsAsync<ConnectionLimitReachedException>(() => manager.ConnectAsync(d.Id, d.EndPoint));
        manager.Reconfigure(o => o.MaxConnections = 2);
        await manager.ConnectAsync(d.Id, d.EndPoint);
        Assert.Equal(2, manager.OpenConnections);
        Assert.Equal(2, (await manager.GetMetricsAsync()).MaxConnections);
    }

    [Fact]
    public async Task A_shorter_connect_timeout_fails_the_next_dial_at_the_new_deadline_as_a_counted_failure()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var spoke = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var silent = new RawPeer(async (socket, ct) =>
        {
            await socket.ReceiveAsync(new byte[1], ct); // the dialer's header: its deadline is armed
            spoke.TrySetResult();
        });
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { ConnectTimeout = TimeSpan.FromSeconds(10), TimeProvider = time });
        var peer = Ids.Unheld();

        manager.Reconfigure(o => o.ConnectTimeout = TimeSpan.FromSeconds(2));
        var connect = manager.ConnectAsync(peer, silent.EndPoint);
        await spoke.Task.WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(2));

        var ex = await Assert.ThrowsAsync<PeerConnectException>(() => connect.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(ConnectFailureKind.Timeout, ex.Kind);
        Assert.Contains("2 s", ex.Message);
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(peer));
        Assert.Equal(1, manager.GetPeer(peer)!.ConsecutiveFailures);
        Assert.Equal(1, manager.GetMetrics().FailedConnects);
        Assert.Equal(0, manager.OpenConnections);
    }

    [Fact]
    public async Task Turning_keepalive_on_fails_a_silent_peer_without_a_restart()
    {
        var time = new FakeTimeProvider();
        await using var frozen = await Libp2pPeer.StartAsync();
        frozen.NeverAnswerPings();
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { TimeProvider = time, KeepAliveInterval = TimeSpan.Zero });
        await manager.ConnectAsync(frozen.Id, frozen.EndPoint);
        Assert.Equal(TimeSpan.Zero, manager.KeepAlivePeriod);

        manager.Reconfigure(o =>
        {
            o.KeepAliveInterval = TimeSpan.FromSeconds(2);
            o.KeepAliveTimeout = TimeSpan.FromSeconds(3);
        });

        var took = KeepAliveTests.StepUntil(time, manager, () => manager.GetMetrics().KeepAliveFailures == 1, TimeSpan.FromMinutes(1));
        Assert.InRange(took, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5) + 2 * manager.KeepAlivePeriod);
        await Wait.UntilAsync(() => manager.GetStatusAsync(frozen.Id).Result == ConnectionStatus.Failed, "the silent peer failed");

        // And off again: a second silent connection is left alone however long it is silent.
        await manager.ConnectAsync(frozen.Id, frozen.EndPoint);
        manager.Reconfigure(o => o.KeepAliveInterval = TimeSpan.Zero);
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(frozen.Id));
        Assert.Equal(1, manager.GetMetrics().KeepAliveFailures);
    }

    [Fact]
    public async Task A_shorter_pool_timeout_expires_connections_already_pooled_from_when_they_were_pooled()
    {
        var time = new FakeTimeProvider();
        await using var remote = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { TimeProvider = time, KeepAliveInterval = TimeSpan.Zero });
        await manager.ConnectAsync(remote.Id, remote.EndPoint);
        await manager.DisconnectAsync(remote.Id);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Single(manager.GetPooledConnections());

        manager.Reconfigure(o => o.PoolTimeout = TimeSpan.FromSeconds(8));

        // Pooled 10 s ago with a new timeout of 8 s: due now, closed at the next scan (every 2 s for this timeout).
        Assert.Equal(TimeSpan.Zero, Assert.Single(manager.GetPooledConnections()).ExpiresIn);
        time.Advance(TimeSpan.FromSeconds(2));
        await Wait.UntilAsync(() => manager.GetMetrics().PoolExpirations == 1, "the pooled connection expired");
        await Wait.UntilAsync(() => manager.OpenConnections == 0, "its socket closed");

        // Zero turns the pool off: the next disconnect closes.
        manager.Reconfigure(o => o.PoolTimeout = TimeSpan.Zero);
        await manager.ConnectAsync(remote.Id);
        await manager.DisconnectAsync(remote.Id);
        Assert.Empty(manager.GetPooledConnections());
        await Wait.UntilAsync(() => manager.OpenConnections == 0, "closed, not pooled");
    }

    [Fact]
    public async Task A_timed_out_connect_counts_toward_the_breaker_and_a_cancelled_one_does_not_stop_it()
    {
        // The repro: a refused dial, a dial to a silent server that runs out of time, then refused dials. With a
        // cancelled connect in the middle, which must neither count nor stop the counting.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var closed = Ids.ClosedPort();
        var refused = (IPEndPoint)closed.LocalEndPoint!;
        var spoke = 0;
        await using var silent = new RawPeer(async (socket, ct) =>
        {
            await socket.ReceiveAsync(new byte[1], ct);
            Interlocked.Increment(ref spoke);
            await Task.Delay(Timeout.Infinite, ct);
        });
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { TimeProvider = time, KeepAliveInterval = TimeSpan.Zero });
        var peer = Ids.Unheld();

        await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer, refused));

        var timedOut = manager.ConnectAsync(peer, silent.EndPoint, TimeSpan.FromSeconds(2));
        await Wait.UntilAsync(() => Volatile.Read(ref spoke) == 1, "the dialer spoke to the silent server");
        time.Advance(TimeSpan.FromSeconds(2));
        var timeout = await Assert.ThrowsAsync<PeerConnectException>(() => timedOut.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(ConnectFailureKind.Timeout, timeout.Kind);
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(peer));
        Assert.Equal(2, manager.GetPeer(peer)!.ConsecutiveFailures);

        using (var cancel = new CancellationTokenSource())
        {
            var cancelled = manager.ConnectAsync(peer, silent.EndPoint, null, cancel.Token);
            await Wait.UntilAsync(() => Volatile.Read(ref spoke) == 2, "the dialer spoke again");
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(TimeSpan.FromSeconds(10)));
        }
        Assert.Equal(2, manager.GetPeer(peer)!.ConsecutiveFailures);
        Assert.Equal(CircuitState.Closed, manager.GetPeer(peer)!.CircuitState);

        for (var failures = 3; failures <= 5; failures++)
        {
            await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer, refused));
            Assert.Equal(failures, manager.GetPeer(peer)!.ConsecutiveFailures);
        }
        Assert.Equal(CircuitState.Open, manager.GetPeer(peer)!.CircuitState);
        await Assert.ThrowsAsync<PeerCircuitOpenException>(() => manager.ConnectAsync(peer, refused));
        var metrics = manager.GetMetrics();
        Assert.Equal(1, metrics.OpenCircuits);
    }

    [Fact]
    public async Task Breaker_settings_apply_at_the_next_dial()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var closed = Ids.ClosedPort();
        var refused = (IPEndPoint)closed.LocalEndPoint!;
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { TimeProvider = time, KeepAliveInterval = TimeSpan.Zero });
        var peer = Ids.Unheld();
        manager.AddPeer(peer, refused);
        for (var i = 0; i < 2; i++)
            await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer));

        manager.Reconfigure(o =>
        {
            o.CircuitBreakerFailureThreshold = 3;
            o.CircuitBreakerBreakDuration = TimeSpan.FromSeconds(7);
        });
        await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer));

        var open = manager.GetPeer(peer)!;
        Assert.Equal(CircuitState.Open, open.CircuitState);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(7), open.CircuitOpenUntil);

        // Turned off: the open circuit no longer refuses, and no longer counts as open.
        manager.Reconfigure(o => o.CircuitBreakerFailureThreshold = 0);
        var dialed = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer));
        Assert.Equal(ConnectFailureKind.Unreachable, dialed.Kind);
        Assert.Equal(0, manager.GetMetrics().OpenCircuits);
    }

    [Fact]
    public async Task Turning_auto_reconnect_off_stops_the_loops_of_peers_that_follow_the_manager()
    {
        var time = new FakeTimeProvider();
        await using var remote = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(new ConnectionManagerOptions
        {
            TimeProvider = time, KeepAliveInterval = TimeSpan.Zero, AutoReconnect = true, CircuitBreakerFailureThreshold = 0,
        });
        await manager.ConnectAsync(remote.Id, remote.EndPoint);
        var endPoint = remote.EndPoint;
        await remote.DisposeAsync(); // lost: the loop starts and keeps failing against a closed port
        await Wait.UntilAsync(() => !manager.ReconnectLoopOf(remote.Id).IsCompleted, "the reconnect loop started");

        manager.Reconfigure(o => o.AutoReconnect = false);

        await manager.ReconnectLoopOf(remote.Id).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(endPoint, manager.GetEndPoint(remote.Id));
    }

    [Fact]
    public async Task A_bad_value_or_a_fixed_setting_is_refused_and_changes_nothing()
    {
        await using var manager = new ConnectionManager(5);

        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => manager.Reconfigure(o => { o.MaxConnections = 9; o.ConnectTimeout = TimeSpan.Zero; }));
        Assert.Equal(nameof(ConnectionManagerOptions.ConnectTimeout), bad.ParamName);
        Assert.Equal(5, manager.MaxConnections);

        var fixedOne = Assert.Throws<InvalidOperationException>(() => manager.Reconfigure(o => o.ReceiveQueueCapacity = 7));
        Assert.Contains(nameof(ConnectionManagerOptions.ReceiveQueueCapacity), fixedOne.Message);

        // The options a caller holds are a copy: changing them does nothing to the manager.
        manager.Options.MaxConnections = 1;
        Assert.Equal(5, manager.MaxConnections);
    }
}
