
namespace QuDag.Network.Tests.Policy;

/// <summary>
/// The accounting is exact under churn: a hub with watermarks that trim, and workers connecting, disconnecting (pooled
/// and closed), pinging, sending, trimming on demand, and flooding it with ping streams from the remote side; once every
/// connection has ended, every scope of the hub holds nothing and no peer scope is left. A counter that went below zero
/// would have failed its Debug.Assert on the way.
/// </summary>
public sealed class ScopeAccountingSoakTests
{
    [Fact]
    public async Task After_connects_disconnects_trims_and_stream_floods_every_scope_is_back_to_zero()
    {
        var nodes = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => TestNode.StartAsync()));
        var hub = new ConnectionManager(new ConnectionManagerOptions
        {
            MaxConnections = 8,
            LowWater = 4,
            HighWater = 6,
            GracePeriod = TimeSpan.Zero,
            SilencePeriod = TimeSpan.FromMilliseconds(200),
            KeepAliveInterval = TimeSpan.Zero,
        });
        try
        {
            var hubListener = await hub.ListenAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            foreach (var node in nodes)
                hub.AddPeer(node.Id, node.EndPoint);
            var unexpected = new System.Collections.Concurrent.ConcurrentQueue<Exception>();

            async Task Worker(int seed)
            {
                var random = new Random(seed);
                for (var i = 0; i < 150; i++)
                {
                    var node = nodes[random.Next(nodes.Length)];
                    try
                    {
                        switch (random.Next(8))
                        {
                            case 0: await hub.ConnectAsync(node.Id); break;
                            case 1: await hub.DisconnectAsync(node.Id); break;
                            case 2: await hub.DisconnectAsync(node.Id, close: true); break;
                            case 3: await hub.PingAsync(node.Id); break;
                            case 4: await hub.SendAsync(node.Id, new byte[random.Next(1, 4096)]); break;
                            case 5: await hub.TrimAsync(); break;
                            case 6: await node.Manager.ConnectAsync(hub.LocalPeerId, hubListener.LocalEndPoint); break;
                            case 7: await FloodAsync(node, hub.LocalPeerId, random.Next(1, 12)); break;
                        }
                    }
                    catch (Exception ex) when (ex is PeerNotConnectedException or ConnectionLimitReachedException or PeerConnectException
                        or IOException or P2p.P2pException or OperationCanceledException)
                    {
                        // Expected under churn: another worker closed, trimmed or filled what this one used.
                    }
                    catch (Exception ex)
                    {
                        unexpected.Enqueue(ex);
                    }
                }
            }

            await Task.WhenAll(Enumerable.Range(0, 4).Select(seed => Task.Run(() => Worker(seed))));
            Assert.Empty(unexpected);
            Assert.True(hub.GetMetrics().ClosesByReason[CloseReason.Trimmed] > 0, "the soak trimmed");

            // Every connection ends: the remotes go, the hub empties its pool.
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
            await hub.ClearPoolAsync();
            await Wait.UntilAsync(() => hub.OpenConnections == 0, "every connection of the hub closed", 20_000);
            await Wait.UntilAsync(() => hub.Resources.GetUsage().All(u => u.IsEmpty), "every scope back to zero: "
                + string.Join("; ", hub.Resources.GetUsage().Where(u => !u.IsEmpty)), 20_000);
            Assert.Empty(hub.Resources.GetUsage(P2p.Resources.ResourceScopeKind.Peer));
            Assert.NotEmpty(hub.Resources.GetUsage(P2p.Resources.ResourceScopeKind.Protocol)); // protocol scopes stay, empty
        }
        finally
        {
            await hub.DisposeAsync();
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
        }
    }

    /// <summary>The remote opens a burst of ping streams to the hub on its connection, half of them reset, the rest closed.</summary>
    private static async Task FloodAsync(TestNode node, PeerId hub, int count)
    {
        var connection = node.Manager.Host.Connections.FirstOrDefault(c => c.RemotePeer == hub && c.IsOpen);
        if (connection is null)
            return;
        var streams = await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            try
            {
                return await connection.OpenStreamAsync("/ipfs/ping/1.0.0", CancellationToken.None);
            }
            catch (Exception ex) when (ex is IOException or P2p.P2pException)
            {
                return null;
            }
        }));
        for (var i = 0; i < streams.Length; i++)
        {
            if (streams[i] is not { } stream)
                continue;
            if (i % 2 == 0)
                stream.Reset();
            await stream.DisposeAsync();
        }
    }
}
