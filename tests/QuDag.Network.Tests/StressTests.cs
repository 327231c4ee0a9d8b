namespace QuDag.Network.Tests;

public class StressTests
{
    [Fact]
    public async Task Random_concurrent_operations_keep_sockets_and_counts_consistent()
    {
        const int Peers = 50, Tasks = 8, OpsPerTask = 1000, Limit = 20;
        var nodes = await Task.WhenAll(Enumerable.Range(0, Peers).Select(_ => TestNode.StartAsync()));
        try
        {
            await using var manager = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = Limit });
            foreach (var node in nodes)
                manager.AddPeer(node.Id, node.EndPoint);
            var unexpected = new List<Exception>();
            long limitErrors = 0, notConnected = 0, maxOpenSeen = 0;

            async Task Worker(int seed)
            {
                var random = new Random(seed);
                for (var i = 0; i < OpsPerTask; i++)
                {
                    var peer = nodes[random.Next(Peers)].Id;
                    try
                    {
                        switch (random.Next(6))
                        {
                            case 0: await manager.ConnectAsync(peer); break;
                            case 1: await manager.DisconnectAsync(peer); break;
                            case 2: await manager.DisconnectAsync(peer, close: random.Next(4) == 0); break;
                            case 3: await manager.UpdateStatusAsync(peer, (ConnectionStatus)random.Next(4)); break;
                            case 4: await manager.GetStatusAsync(peer); break;
                            case 5: await manager.SendAsync(peer, new byte[random.Next(1, 256)]); break;
                        }
                    }
                    catch (ConnectionLimitReachedException) { Interlocked.Increment(ref limitErrors); }
                    catch (PeerNotConnectedException) { Interlocked.Increment(ref notConnected); } // a send raced a disconnect
                    catch (Exception ex) { lock (unexpected) unexpected.Add(ex); }
                    var open = manager.OpenConnections;
                    long seen;
                    while (open > (seen = Interlocked.Read(ref maxOpenSeen)) && Interlocked.CompareExchange(ref maxOpenSeen, open, seen) != seen) { }
                }
            }

            await Task.WhenAll(Enumerable.Range(0, Tasks).Select(seed => Task.Run(() => Worker(seed))));

            Assert.Empty(unexpected);
            Assert.InRange(maxOpenSeen, 1, Limit);
            var m = await manager.GetMetricsAsync();
            Assert.Equal(manager.OpenConnections, m.Connections + m.IdleConnections);
            Assert.Equal(m.IdleConnections, manager.GetPooledConnections().Count);
            Assert.Equal(m.Connections, manager.GetPeers().Count(p => !p.Pooled && p.HandshakeTime is not null));
            // Every socket the manager holds has a live remote end, and no remote holds one the manager forgot.
            await Wait.UntilAsync(() => nodes.Sum(n => n.Manager.OpenConnections) == manager.OpenConnections,
                $"remote ends ({nodes.Sum(n => n.Manager.OpenConnections)}) equal local sockets ({manager.OpenConnections})");
            Assert.True(m.TotalMessages > 0);
        }
        finally
        {
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
        }
    }
}
