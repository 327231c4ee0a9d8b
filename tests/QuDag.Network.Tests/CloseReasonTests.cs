using System.Collections.Concurrent;
using QuDag.P2p.Upgrade;

namespace QuDag.Network.Tests;

/// <summary>
/// Every close carries one reason from the closed set: on the status event, on the peer (with its time), in the event
/// log, and counted by reason. Trimmed, idle expiry, keepalive, protocol error and identity mismatch are asserted where
/// their scenarios run (Policy/ConnectionTrimmerTests, PoolTests, KeepAliveTests, FailureTests); the rest here.
/// </summary>
public sealed class CloseReasonTests
{
    private static ConcurrentQueue<ConnectionStatusChangedEventArgs> Closes(ConnectionManager manager)
    {
        var closes = new ConcurrentQueue<ConnectionStatusChangedEventArgs>();
        manager.StatusChanged += (_, e) =>
        {
            if (e.CloseReason is not null)
                closes.Enqueue(e);
        };
        return closes;
    }

    [Fact]
    public async Task A_disconnect_on_purpose_is_a_local_disconnect_and_the_remote_sees_it_closed_in_order()
    {
        await using var remote = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        var closes = Closes(manager);
        var remoteCloses = Closes(remote.Manager);
        await manager.ConnectAsync(remote.Id, remote.EndPoint);
        await Wait.UntilConnectedAsync(remote.Manager, manager.LocalPeerId);

        await manager.DisconnectAsync(remote.Id, close: true);

        var local = Assert.Single(closes);
        Assert.Equal(CloseReason.LocalDisconnect, local.CloseReason);
        Assert.Equal(ConnectionStatus.Disconnected, local.NewStatus);
        var info = manager.GetPeer(remote.Id)!;
        Assert.Equal(CloseReason.LocalDisconnect, info.CloseReason);
        Assert.NotNull(info.ClosedAt);
        Assert.Single(manager.GetRecentEvents(), e => e.CloseReason == CloseReason.LocalDisconnect); // logged once
        Assert.Equal(1, manager.GetMetrics().ClosesByReason[CloseReason.LocalDisconnect]);

        await Wait.UntilAsync(() => !remoteCloses.IsEmpty, "the remote's close event");
        Assert.Equal(CloseReason.RemoteClosed, Assert.Single(remoteCloses).CloseReason);
        Assert.Equal(CloseReason.RemoteClosed, remote.Manager.GetPeer(manager.LocalPeerId)!.CloseReason);
    }

    [Fact]
    public async Task A_pooled_connection_closed_to_make_room_at_the_limit_names_the_system_scope()
    {
        await using var a = await TestNode.StartAsync();
        await using var b = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(1);
        await manager.ConnectAsync(a.Id, a.EndPoint);
        await manager.DisconnectAsync(a.Id); // pooled

        await manager.ConnectAsync(b.Id, b.EndPoint); // a's pooled connection is evicted for b

        await Wait.UntilAsync(() => manager.GetPeer(a.Id)!.CloseReason is not null, "a's eviction recorded");
        var info = manager.GetPeer(a.Id)!;
        Assert.Equal(CloseReason.Limit, info.CloseReason);
        Assert.Equal("system", info.CloseScope);
        Assert.Contains(manager.GetRecentEvents(), e => e.PeerId == a.Id && e.CloseReason == CloseReason.Limit && e.CloseScope == "system");
    }

    [Fact]
    public async Task A_peer_the_gater_denies_while_connected_is_closed_as_gated()
    {
        await using var remote = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        var closes = Closes(manager);
        await manager.ConnectAsync(remote.Id, remote.EndPoint);

        manager.Gater.Deny(remote.Id);

        await Wait.UntilAsync(() => !closes.IsEmpty, "the close event");
        Assert.Equal(CloseReason.Gated, Assert.Single(closes).CloseReason);
        Assert.Equal(CloseReason.Gated, manager.GetPeer(remote.Id)!.CloseReason);
        // A dial the gater refuses carries the reason too.
        await Assert.ThrowsAsync<PeerDeniedException>(() => manager.ConnectAsync(remote.Id));
    }

    [Fact]
    public async Task Disposing_the_manager_closes_every_connection_as_shutdown()
    {
        await using var remote = await TestNode.StartAsync();
        var manager = new ConnectionManager(10);
        var closes = Closes(manager);
        await manager.ConnectAsync(remote.Id, remote.EndPoint);

        await manager.DisposeAsync();

        Assert.Equal(CloseReason.Shutdown, Assert.Single(closes).CloseReason);
        Assert.Equal(1, manager.GetMetrics().ClosesByReason[CloseReason.Shutdown]);
    }

    [Fact]
    public async Task A_dial_a_resource_scope_refuses_fails_as_a_limit_naming_the_scope_and_the_peer_keeps_the_reason()
    {
        await using var remote = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(new ConnectionManagerOptions
        {
            Resources = new QuDag.P2p.Resources.ResourceManagerOptions(1L << 30) with { Transient = new() { ConnectionsOutbound = 0 } },
        });

        var ex = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(remote.Id, remote.EndPoint));

        Assert.Equal(ConnectFailureKind.LimitReached, ex.Kind);
        Assert.Contains("the transient scope is at its limit of 0 outbound connections", ex.Message);
        var info = manager.GetPeer(remote.Id)!;
        Assert.Equal(CloseReason.Limit, info.CloseReason);
        Assert.Equal("transient", info.CloseScope);
        Assert.Equal(1, manager.GetMetrics().BlockedByScope[QuDag.P2p.Resources.ResourceScopeKind.Transient]);
        Assert.Equal(0, remote.Listener.AcceptedCount); // refused before any socket
    }

    [Fact]
    public async Task A_connection_the_remote_resets_is_a_remote_reset()
    {
        using var identity = NodeIdentity.Create();
        using var upgrader = new InboundUpgrader(identity);
        var reset = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var upgraded = new TaskCompletionSource<P2pConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The libp2p upgrade, then a TCP reset: linger 0 makes the close send RST instead of FIN.
        await using var raw = new RawPeer(async (socket, ct) =>
        {
            upgraded.TrySetResult(await upgrader.UpgradeAsync(socket, ct));
            await reset.Task.WaitAsync(ct);
            socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
            socket.Close();
        });
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { KeepAliveInterval = TimeSpan.Zero });
        var closes = Closes(manager);
        await manager.ConnectAsync(identity.PeerId, raw.EndPoint);
        await upgraded.Task;

        reset.SetResult();

        await Wait.UntilAsync(() => !closes.IsEmpty, "the close event");
        var closed = Assert.Single(closes);
        Assert.Equal(CloseReason.RemoteReset, closed.CloseReason);
        Assert.Equal(ConnectionStatus.Failed, closed.NewStatus);
        await (await upgraded.Task).DisposeAsync();
    }
}
