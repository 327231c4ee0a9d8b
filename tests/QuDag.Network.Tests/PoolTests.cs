using Microsoft.Extensions.Time.Testing;

namespace QuDag.Network.Tests;

public class PoolTests
{
    [Fact]
    public async Task Connect_after_disconnect_reuses_the_pooled_connection_without_a_new_handshake()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(peer.Id, peer.EndPoint);

        await manager.DisconnectAsync(peer.Id);
        Assert.Equal(ConnectionStatus.Disconnected, await manager.GetStatusAsync(peer.Id));
        var pooled = Assert.Single(manager.GetPooledConnections());
        Assert.Equal(peer.Id, pooled.PeerId);
        var m = await manager.GetMetricsAsync();
        Assert.Equal((0, 1, 1), (m.Connections, m.IdleConnections, m.OpenConnections));

        await manager.ConnectAsync(peer.Id);

        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(peer.Id));
        Assert.Equal(1, peer.Listener.AcceptedCount); // no second TCP (hence no TLS) handshake
        Assert.Empty(manager.GetPooledConnections());
        m = await manager.GetMetricsAsync();
        Assert.Equal((1, 1L, 1L), (m.Connections, m.PoolHits, m.PoolMisses));
        // The reused connection really carries traffic.
        await manager.SendAsync(peer.Id, "after reuse"u8.ToArray());
        var message = await peer.Manager.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("after reuse"u8.ToArray(), message.Payload.ToArray());
    }

    [Fact]
    public async Task Disconnect_with_close_closes_instead_of_pooling()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        await Wait.UntilConnectedAsync(peer.Manager, manager.LocalPeerId);

        await manager.DisconnectAsync(peer.Id, close: true);

        Assert.Empty(manager.GetPooledConnections());
        Assert.Equal(0, manager.OpenConnections);
        // The remote got our GoAway and the close, and released its end.
        await Wait.UntilAsync(() => peer.Manager.OpenConnections == 0 && peer.Manager.GetPeer(manager.LocalPeerId)?.Status == ConnectionStatus.Disconnected,
            "remote closed its end and heard of it");
        Assert.Equal(ConnectionStatus.Disconnected, await peer.Manager.GetStatusAsync(manager.LocalPeerId));
        await manager.ConnectAsync(peer.Id);
        Assert.Equal(2, peer.Listener.AcceptedCount);
    }

    [Fact]
    public async Task An_idle_connection_is_closed_within_pool_timeout_plus_scan_interval_with_nothing_else_happening()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var timeout = TimeSpan.FromMinutes(1);
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 10, PoolTimeout = timeout, TimeProvider = time });
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        await manager.DisconnectAsync(peer.Id);

        time.Advance(timeout - TimeSpan.FromSeconds(1));
        // Listing the pool does not refresh the sliding window.
        var listed = Assert.Single(manager.GetPooledConnections());
        Assert.Equal(TimeSpan.FromSeconds(1), listed.ExpiresIn);
        Assert.Equal(1, manager.OpenConnections);

        time.Advance(TimeSpan.FromSeconds(1) + IdlePool.ScanInterval(timeout));

        await Wait.UntilAsync(() => manager.OpenConnections == 0, "expired connection closed");
        Assert.Empty(manager.GetPooledConnections());
        await Wait.UntilAsync(() => peer.Manager.OpenConnections == 0 && peer.Manager.GetPeer(manager.LocalPeerId)?.Status == ConnectionStatus.Disconnected,
            "remote saw the close");
        // Expiry aborts (the socket closes without waiting for a drain); the remote still reads it as an orderly disconnect.
        Assert.Equal(ConnectionStatus.Disconnected, await peer.Manager.GetStatusAsync(manager.LocalPeerId));
        Assert.Equal(1, (await manager.GetMetricsAsync()).PoolExpirations);
        Assert.Equal(CloseReason.IdleExpired, manager.GetPeer(peer.Id)!.CloseReason);
        Assert.Equal(1, manager.GetMetrics().ClosesByReason[CloseReason.IdleExpired]);
        Assert.Contains(manager.GetRecentEvents(), e => e.CloseReason == CloseReason.IdleExpired); // a pooled end is logged too
        // The next connect dials afresh.
        await manager.ConnectAsync(peer.Id);
        Assert.Equal(2, peer.Listener.AcceptedCount);
    }

    [Fact]
    public async Task A_pooled_connection_whose_remote_closed_is_never_handed_out()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        await manager.DisconnectAsync(peer.Id);
        await Wait.UntilConnectedAsync(peer.Manager, manager.LocalPeerId);

        await peer.Manager.DisconnectAsync(manager.LocalPeerId, close: true);

        await Wait.UntilAsync(() => manager.GetPooledConnections().Count == 0, "dead connection dropped from the pool");
        Assert.Equal(0, manager.OpenConnections);
        await manager.ConnectAsync(peer.Id);
        Assert.Equal(2, peer.Listener.AcceptedCount);
        Assert.True(await manager.PingAsync(peer.Id) > TimeSpan.Zero);
    }

    [Fact]
    public async Task A_pooled_connection_goes_to_exactly_one_of_many_concurrent_connects()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        await manager.DisconnectAsync(peer.Id);

        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => manager.ConnectAsync(peer.Id))));

        var m = await manager.GetMetricsAsync();
        Assert.Equal((1, 0, 1), (m.Connections, m.IdleConnections, m.OpenConnections));
        Assert.Equal(1, m.PoolHits);
        Assert.Equal(1, peer.Listener.AcceptedCount);
    }

    [Fact]
    public async Task Clear_pool_closes_every_idle_connection()
    {
        await using var a = await TestNode.StartAsync();
        await using var b = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(a.Id, a.EndPoint);
        await manager.ConnectAsync(b.Id, b.EndPoint);
        await manager.DisconnectAsync(a.Id);
        await manager.DisconnectAsync(b.Id);

        Assert.Equal(2, await manager.ClearPoolAsync());
        Assert.Equal(0, manager.OpenConnections);
        Assert.Empty(manager.GetPooledConnections());
    }
}
