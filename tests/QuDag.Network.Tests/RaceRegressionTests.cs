using Microsoft.Extensions.Time.Testing;

namespace QuDag.Network.Tests;

/// <summary>Interleavings a review of the resilience code found broken; each test failed before its fix.</summary>
public class RaceRegressionTests
{
    private static readonly TimeSpan Off = TimeSpan.Zero;

    /// <summary>B sends more than A's receive queue holds; A's read loop then waits for room (backpressure).</summary>
    private static async Task FillReceiveQueueAsync(ConnectionManager a, TestNode b, int messages = 20)
    {
        await Wait.UntilConnectedAsync(b.Manager, a.LocalPeerId);
        for (var i = 0; i < messages; i++)
            await b.Manager.SendAsync(a.LocalPeerId, new byte[100]);
        await Wait.UntilAsync(() => a.GetMetrics().MessagesReceived == 1, "the receive queue is full");
        await Wait.UntilAsync(() => a.DeliveriesWaitingForRoom == 1, "the read loop waits for room with the next message");
    }

    [Fact]
    public async Task Evicting_a_pooled_connection_whose_receive_queue_is_full_does_not_wait_for_the_reader()
    {
        await using var b = await TestNode.StartAsync(new() { KeepAliveInterval = Off });
        await using var c = await TestNode.StartAsync(new() { KeepAliveInterval = Off });
        await using var a = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 1, ReceiveQueueCapacity = 1, KeepAliveInterval = Off });
        await a.ConnectAsync(b.Id, b.EndPoint);
        await FillReceiveQueueAsync(a, b);
        await a.DisconnectAsync(b.Id);

        await a.ConnectAsync(c.Id, c.EndPoint).WaitAsync(TimeSpan.FromSeconds(10)); // evicts B's pooled connection

        Assert.Equal(ConnectionStatus.Connected, await a.GetStatusAsync(c.Id));
        Assert.Equal(1, a.OpenConnections);
    }

    [Fact]
    public async Task Keepalive_leaves_a_connection_alone_while_it_is_held_back_by_a_full_receive_queue()
    {
        var time = new FakeTimeProvider();
        await using var b = await TestNode.StartAsync(new() { KeepAliveInterval = Off });
        await using var a = new ConnectionManager(new ConnectionManagerOptions { TimeProvider = time, ReceiveQueueCapacity = 1 });
        await a.ConnectAsync(b.Id, b.EndPoint);
        await FillReceiveQueueAsync(a, b);

        for (var i = 0; i < 40; i++) // 150 s of fake time: four times the keepalive bound
        {
            time.Advance(a.KeepAlivePeriod);
            await Task.Yield();
        }

        Assert.Equal(0, a.GetMetrics().KeepAliveFailures);
        Assert.Equal(ConnectionStatus.Connected, await a.GetStatusAsync(b.Id));
        for (var i = 0; i < 20; i++) // nothing lost
            await a.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task The_first_reconnect_at_the_limit_gets_the_slot_its_lost_connection_freed()
    {
        await using var b = await TestNode.StartAsync(new() { KeepAliveInterval = Off });
        await using var a = new ConnectionManager(new ConnectionManagerOptions { KeepAliveInterval = Off, MaxConnections = 1, AutoReconnect = true });
        await a.ConnectAsync(b.Id, b.EndPoint);
        await Wait.UntilConnectedAsync(b.Manager, a.LocalPeerId);

        await b.Manager.DisconnectAsync(a.LocalPeerId, close: true);

        await Wait.UntilAsync(() => a.GetMetrics().Reconnects == 1, "reconnected at the first attempt");
        Assert.Equal(0, a.GetPeer(b.Id)!.ReconnectFailures);
    }

    [Fact]
    public async Task A_cancelled_trial_reopens_the_circuit_instead_of_closing_it()
    {
        var time = new FakeTimeProvider();
        await using var silent = new RawPeer((s, ct) => Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, TaskScheduler.Default));
        await using var flaky = await FlakyPeer.StartAsync();
        var id = flaky.Identity.PeerId;
        await using var m = new ConnectionManager(new ConnectionManagerOptions { TimeProvider = time, KeepAliveInterval = Off, CircuitBreakerFailureThreshold = 2 });
        for (var i = 0; i < 2; i++)
            await Assert.ThrowsAsync<PeerConnectException>(() => m.ConnectAsync(id, flaky.EndPoint));
        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(CircuitState.HalfOpen, m.GetPeer(id)!.CircuitState); // the break is over: the next dial is the trial

        using var cancel = new CancellationTokenSource(300);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => m.ConnectAsync(id, silent.EndPoint, cancel.Token));

        var peer = m.GetPeer(id)!;
        Assert.Equal(CircuitState.Open, peer.CircuitState);
        Assert.Equal(2, peer.ConsecutiveFailures); // a cancellation is not a failure, nor a success
        await Assert.ThrowsAsync<PeerCircuitOpenException>(() => m.ConnectAsync(id, flaky.EndPoint));
    }

    [Fact]
    public async Task A_peer_denied_while_its_dial_is_in_flight_is_not_adopted()
    {
        using var identity = NodeIdentity.Create();
        using var upgrader = new InboundUpgrader(identity);
        var held = new List<QuDag.P2p.Upgrade.P2pConnection>();
        var upgradeStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var proceed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var slow = new RawPeer(async (socket, ct) =>
        {
            upgradeStarted.TrySetResult();
            await proceed.Task.WaitAsync(ct);
            var connection = await upgrader.UpgradeAsync(socket, ct);
            lock (held)
                held.Add(connection);
        });
        await using var m = new ConnectionManager(new ConnectionManagerOptions { KeepAliveInterval = Off });
        var connect = m.ConnectAsync(identity.PeerId, slow.EndPoint);
        await upgradeStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));

        m.Gater.Deny(identity.PeerId);
        proceed.SetResult();

        await Assert.ThrowsAsync<PeerDeniedException>(() => connect);
        Assert.NotEqual(ConnectionStatus.Connected, await m.GetStatusAsync(identity.PeerId));
        await Wait.UntilAsync(() => m.OpenConnections == 0, "the refused connection closed");
        Assert.Equal(1, m.GetMetrics().DeniedOutbound);
        foreach (var connection in held)
            await connection.DisposeAsync();
    }

    [Fact]
    public async Task A_connect_failed_fast_by_an_open_circuit_evicts_nothing_from_the_pool()
    {
        var time = new FakeTimeProvider();
        await using var b = await TestNode.StartAsync(new() { KeepAliveInterval = Off });
        await using var flaky = await FlakyPeer.StartAsync();
        var x = flaky.Identity.PeerId;
        await using var m = new ConnectionManager(new ConnectionManagerOptions { TimeProvider = time, KeepAliveInterval = Off, MaxConnections = 1, CircuitBreakerFailureThreshold = 2 });
        for (var i = 0; i < 2; i++)
            await Assert.ThrowsAsync<PeerConnectException>(() => m.ConnectAsync(x, flaky.EndPoint));
        await m.ConnectAsync(b.Id, b.EndPoint);
        await m.DisconnectAsync(b.Id);

        await Assert.ThrowsAsync<PeerCircuitOpenException>(() => m.ConnectAsync(x));

        Assert.Single(m.GetPooledConnections());
        Assert.Equal(1, m.OpenConnections);
    }

    [Fact]
    public async Task A_loss_during_a_disconnect_does_not_restart_reconnect()
    {
        await using var b = await TestNode.StartAsync(new() { KeepAliveInterval = Off });
        await using var a = new ConnectionManager(new ConnectionManagerOptions { KeepAliveInterval = Off, AutoReconnect = true });
        await a.ConnectAsync(b.Id, b.EndPoint);
        await Wait.UntilConnectedAsync(b.Manager, a.LocalPeerId);
        var gate = a.GateOf(b.Id);

        await gate.WaitAsync(); // stands for another operation on this peer holding its gate
        var disconnect = a.DisconnectAsync(b.Id);
        await b.Manager.DisconnectAsync(a.LocalPeerId, close: true); // the remote closes meanwhile
        await Wait.UntilAsync(() => a.GetPeer(b.Id)!.Reconnecting, "the close started a reconnect");
        gate.Release();
        await disconnect;

        await a.ReconnectLoopOf(b.Id).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, a.GetMetrics().Reconnects);
        Assert.Equal(ConnectionStatus.Disconnected, await a.GetStatusAsync(b.Id));
    }
}
