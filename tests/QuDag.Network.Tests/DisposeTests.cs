namespace QuDag.Network.Tests;

public class DisposeTests
{
    [Fact]
    public async Task Dispose_closes_every_socket_listener_and_pooled_connection()
    {
        var before = Wait.OpenSockets();
        var peers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => TestNode.StartAsync()));
        var manager = new ConnectionManager(10);
        await manager.ListenAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        foreach (var peer in peers)
            await manager.ConnectAsync(peer.Id, peer.EndPoint);
        await manager.DisconnectAsync(peers[0].Id); // one idle in the pool
        var receive = manager.ReceiveAsync().AsTask();
        Assert.True(Wait.OpenSockets() >= before + 4 + 4 + 4 + 1);

        await manager.DisposeAsync();
        await manager.DisposeAsync(); // idempotent

        Assert.Equal(0, manager.OpenConnections);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => receive.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => manager.ConnectAsync(peers[0].Id));
        await Wait.UntilAsync(() => peers.All(p => p.Manager.OpenConnections == 0), "remotes saw every close");
        await Task.WhenAll(peers.Select(p => p.DisposeAsync().AsTask()));
        Assert.Equal(before, Wait.OpenSockets());
    }

    [Fact]
    public async Task Dispose_during_a_connect_ends_it_with_ObjectDisposedException()
    {
        await using var silent = new RawPeer((_, _) => Task.CompletedTask);
        var manager = new ConnectionManager(10);
        var connect = manager.ConnectAsync(Ids.Unheld(), silent.EndPoint);
        await silent.Accepted.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await manager.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        await Assert.ThrowsAsync<ObjectDisposedException>(() => connect.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, manager.OpenConnections);
    }
}
