namespace QuDag.Network.Tests;

/// <summary>The seed's three usage patterns, over real loopback libp2p connections (TCP, Noise, yamux).</summary>
public class SeedUsageTests
{
    [Fact]
    public async Task Basic_connection_management_connects_to_a_real_peer()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(100);
        manager.AddPeer(peer.Id, peer.EndPoint);

        await manager.ConnectAsync(peer.Id);

        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(peer.Id));
        Assert.Equal(1, peer.Listener.AcceptedCount);
        // The remote authenticated us by our key, and tracks us as connected too.
        await Wait.UntilConnectedAsync(peer.Manager, manager.LocalPeerId);
        var metrics = await manager.GetMetricsAsync();
        Assert.Equal(1, metrics.Connections);
        Assert.True(metrics.AvgHandshakeTime > TimeSpan.Zero);
    }

    [Fact]
    public async Task Custom_pool_configuration_is_kept()
    {
        await using var manager = new ConnectionManager(100, TimeSpan.FromSeconds(300));
        Assert.Equal(100, manager.MaxConnections);
        Assert.Equal(TimeSpan.FromMinutes(5), manager.PoolTimeout);
        await using var defaults = new ConnectionManager(7);
        Assert.Equal(ConnectionManagerOptions.DefaultPoolTimeout, defaults.PoolTimeout);
    }

    [Fact]
    public async Task Status_tracking_records_and_reads_back()
    {
        await using var manager = new ConnectionManager(100);
        var peer = Ids.Unheld();
        var second = Ids.Unheld();
        Assert.Null(await manager.GetStatusAsync(peer));

        await manager.UpdateStatusAsync(peer, ConnectionStatus.Connected);
        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(peer));

        await manager.UpdateStatusesAsync([new(peer, ConnectionStatus.Failed), new(second, ConnectionStatus.Connecting)]);
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(peer));
        Assert.Equal(ConnectionStatus.Connecting, await manager.GetStatusAsync(second));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => manager.UpdateStatusAsync(peer, (ConnectionStatus)42));
    }

    [Fact]
    public async Task Ipv6_loopback_works()
    {
        await using var peer = await TestNode.StartAsync(address: System.Net.IPAddress.IPv6Loopback);
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(peer.Id));
        Assert.True(await manager.PingAsync(peer.Id) > TimeSpan.Zero);
    }

    [Fact]
    public async Task Connect_without_a_known_endpoint_is_a_typed_error()
    {
        await using var manager = new ConnectionManager(10);
        var peer = Ids.Unheld();
        var ex = await Assert.ThrowsAsync<PeerAddressUnknownException>(() => manager.ConnectAsync(peer));
        Assert.Equal(peer, ex.PeerId);
        await Assert.ThrowsAsync<ArgumentException>(() => manager.ConnectAsync(manager.LocalPeerId, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 1)));
    }
}
