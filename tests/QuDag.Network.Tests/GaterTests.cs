namespace QuDag.Network.Tests;

/// <summary>The connection gater: allow and deny lists, inbound refused as soon as the security handshake proves who dials.</summary>
public class GaterTests
{
    [Fact]
    public async Task A_denied_inbound_peer_is_refused_in_the_handshake_and_counted()
    {
        await using var node = await TestNode.StartAsync();
        await using var intruder = new ConnectionManager(10);
        node.Manager.Gater.Deny(intruder.LocalPeerId, GateDirection.Inbound);
        var sockets = Wait.OpenSockets();

        await Refused.ByTheRemoteAsync(intruder, node);

        await Wait.UntilAsync(() => node.Manager.GetMetrics().DeniedInbound == 1, "the refusal was counted");
        Assert.Equal(1, node.Manager.GetMetrics().FailedInbound);
        Assert.Null(await node.Manager.GetStatusAsync(intruder.LocalPeerId)); // never adopted, never tracked
        await Wait.UntilAsync(() => node.Manager.OpenConnections == 0 && Wait.OpenSockets() == sockets, "no socket left behind");
    }

    [Fact]
    public async Task An_inbound_allow_list_admits_only_the_peers_on_it()
    {
        await using var node = await TestNode.StartAsync();
        await using var friend = new ConnectionManager(10);
        await using var stranger = new ConnectionManager(10);
        node.Manager.Gater.Allow(friend.LocalPeerId, GateDirection.Inbound);

        await friend.ConnectAsync(node.Id, node.EndPoint);
        await Refused.ByTheRemoteAsync(stranger, node);

        await Wait.UntilConnectedAsync(node.Manager, friend.LocalPeerId);
        Assert.Equal(1, node.Manager.GetMetrics().DeniedInbound);
        // The allow list is per direction: outbound from the node is not restricted by it.
        await using var other = await TestNode.StartAsync();
        await node.Manager.ConnectAsync(other.Id, other.EndPoint);
    }

    [Fact]
    public async Task A_denied_outbound_peer_is_refused_before_any_socket_opens()
    {
        await using var remote = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        manager.Gater.Deny(remote.Id, GateDirection.Outbound);

        var denied = await Assert.ThrowsAsync<PeerDeniedException>(() => manager.ConnectAsync(remote.Id, remote.EndPoint));

        Assert.Equal(ConnectFailureKind.Denied, denied.Kind);
        Assert.Equal(0, remote.Manager.GetMetrics().FailedInbound + remote.Manager.OpenConnections);
        var metrics = manager.GetMetrics();
        Assert.Equal(1, metrics.DeniedOutbound);
        Assert.Equal(1, metrics.FailedConnects);

        manager.Gater.RemoveDeny(remote.Id);
        await manager.ConnectAsync(remote.Id, remote.EndPoint);
    }

    [Fact]
    public async Task Denying_a_connected_peer_closes_its_live_and_pooled_connections()
    {
        await using var a = await TestNode.StartAsync();
        await using var b = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(a.Id, a.EndPoint);
        await manager.ConnectAsync(b.Id, b.EndPoint);
        await manager.DisconnectAsync(b.Id); // b waits in the pool

        manager.Gater.Deny(a.Id);
        manager.Gater.Deny(b.Id);

        await Wait.UntilAsync(() => manager.OpenConnections == 0 && manager.GetPeer(a.Id)?.Status == ConnectionStatus.Disconnected,
            "both connections closed and a's end heard");
        Assert.Equal(ConnectionStatus.Disconnected, await manager.GetStatusAsync(a.Id));
        Assert.Empty(manager.GetPooledConnections());
        await Assert.ThrowsAsync<PeerDeniedException>(() => manager.ConnectAsync(b.Id));
    }

    [Fact]
    public async Task Starting_an_allow_list_closes_the_connections_of_peers_not_on_it()
    {
        await using var a = await TestNode.StartAsync();
        await using var b = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(a.Id, a.EndPoint);
        await manager.ConnectAsync(b.Id, b.EndPoint);

        manager.Gater.Allow(a.Id, GateDirection.Outbound);

        await Wait.UntilAsync(() => manager.OpenConnections == 1, "b's connection closed");
        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(a.Id));
        Assert.Equal(ConnectionStatus.Disconnected, await manager.GetStatusAsync(b.Id));
    }

    [Fact]
    public async Task A_connection_the_gater_closes_is_not_redialed_by_auto_reconnect()
    {
        await using var a = await TestNode.StartAsync();
        await using var node = await TestNode.StartAsync(new ConnectionManagerOptions { AutoReconnect = true });
        node.Manager.AddPeer(a.Id, a.EndPoint); // reconnect could dial it outbound, which the rule below allows
        await a.Manager.ConnectAsync(node.Id, node.EndPoint);
        await Wait.UntilConnectedAsync(node.Manager, a.Id);

        node.Manager.Gater.Deny(a.Id, GateDirection.Inbound);

        // The close runs the reconnect decision before it releases the socket count.
        await Wait.UntilAsync(() => node.Manager.OpenConnections == 0, "the inbound connection closed");
        Assert.False(node.Manager.GetPeer(a.Id)!.Reconnecting);
        Assert.Equal(0, node.Manager.GetMetrics().ReconnectAttempts);
    }

    [Fact]
    public void Rules_are_per_direction_and_deny_wins()
    {
        var gater = new ConnectionGater();
        var peer = Ids.Unheld();
        var other = Ids.Unheld();
        Assert.True(gater.IsAllowed(peer, GateDirection.Inbound));

        gater.Allow(peer, GateDirection.Inbound);
        Assert.False(gater.IsAllowed(other, GateDirection.Inbound));
        Assert.True(gater.IsAllowed(other, GateDirection.Outbound));

        gater.Deny(peer);
        Assert.False(gater.IsAllowed(peer, GateDirection.Inbound));
        Assert.False(gater.IsAllowed(peer, GateDirection.Outbound));
        Assert.Equal(GateDirection.Both, gater.Denied[peer]);

        gater.RemoveDeny(peer, GateDirection.Inbound);
        Assert.True(gater.IsAllowed(peer, GateDirection.Inbound));
        gater.RemoveAllow(peer);
        Assert.True(gater.IsAllowed(other, GateDirection.Inbound));
        Assert.Throws<ArgumentOutOfRangeException>(() => gater.Deny(peer, 0));
    }
}
