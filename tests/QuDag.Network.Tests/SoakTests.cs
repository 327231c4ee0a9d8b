using Xunit.Abstractions;

namespace QuDag.Network.Tests;

/// <summary>
/// Thousands of connect, send, ping and disconnect cycles across 50 peers. Short in CI; set QUDAG_SOAK_CYCLES for the
/// long form (for example 200000).
/// </summary>
public class SoakTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Cycles_across_50_peers_leave_no_socket_memory_or_unobserved_exception_behind()
    {
        var cycles = int.TryParse(Environment.GetEnvironmentVariable("QUDAG_SOAK_CYCLES"), out var n) ? n : 4_000;
        var unobserved = new List<Exception>();
        EventHandler<UnobservedTaskExceptionEventArgs> onUnobserved = (_, e) =>
        {
            lock (unobserved)
                unobserved.Add(e.Exception);
        };
        CollectUnobserved();
        TaskScheduler.UnobservedTaskException += onUnobserved;
        var sockets = Wait.OpenSockets();
        var peers = new List<TestNode>();
        try
        {
            for (var i = 0; i < 50; i++)
                peers.Add(await TestNode.StartAsync());
            // Fewer slots than peers, so the run also evicts idle connections to make room.
            await using var hub = new ConnectionManager(40);
            foreach (var peer in peers)
                hub.AddPeer(peer.Id, peer.EndPoint);

            // Warm-up: JIT, buffer pools, and each peer's own state (entry, circuit breaker), which is per peer, not per cycle.
            foreach (var peer in peers)
            {
                await hub.ConnectAsync(peer.Id);
                await hub.DisconnectAsync(peer.Id, close: true);
            }
            await RunAsync(hub, peers, 4_000, seed: 0); // until the thread pool and the buffer pools reach their working size
            await QuiesceAsync(hub, peers, sockets);
            var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var ops = await RunAsync(hub, peers, cycles, seed: 1);
            clock.Stop();

            // While connections stand: every socket of the process belongs to a connection a manager tracks.
            await Wait.UntilAsync(() => Wait.OpenSockets() == sockets + peers.Count + hub.OpenConnections + peers.Sum(p => p.Manager.OpenConnections),
                "open sockets equal the tracked connections plus the listeners");
            await QuiesceAsync(hub, peers, sockets);
            var memoryAfter = GC.GetTotalMemory(forceFullCollection: true);
            var metrics = hub.GetMetrics();
            output.WriteLine($"{cycles} cycles in {clock.Elapsed.TotalSeconds:0.0} s: {ops}; sent {metrics.MessagesSent}, pool hits {metrics.PoolHits}, " +
                $"misses {metrics.PoolMisses}; managed memory {memoryBefore >> 10} KiB before, {memoryAfter >> 10} KiB after");
            Assert.InRange(memoryAfter, 0, memoryBefore * 11 / 10);
            Assert.Equal(metrics.MessagesSent, peers.Sum(p => p.Manager.GetMetrics().MessagesReceived));
        }
        finally
        {
            foreach (var peer in peers)
                await peer.DisposeAsync();
            CollectUnobserved();
            TaskScheduler.UnobservedTaskException -= onUnobserved;
        }
        Assert.Empty(unobserved);
        await Wait.UntilAsync(() => Wait.OpenSockets() == sockets, "every socket closed");
    }

    private static void CollectUnobserved()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>Four workers doing random operations; only the errors the operations document are expected.</summary>
    private static async Task<string> RunAsync(ConnectionManager hub, List<TestNode> peers, int cycles, int seed)
    {
        int connects = 0, sends = 0, pings = 0, pooled = 0, closed = 0, refused = 0;
        var payload = new byte[256];
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var random = new Random(seed * 100 + w);
            for (var i = 0; i < cycles / 4; i++)
            {
                var peer = peers[random.Next(peers.Count)].Id;
                try
                {
                    switch (random.Next(10))
                    {
                        case < 3:
                            await hub.ConnectAsync(peer);
                            Interlocked.Increment(ref connects);
                            break;
                        case < 6:
                            await hub.SendAsync(peer, payload);
                            Interlocked.Increment(ref sends);
                            break;
                        case 6:
                            await hub.PingAsync(peer).WaitAsync(TimeSpan.FromSeconds(10));
                            Interlocked.Increment(ref pings);
                            break;
                        case < 9:
                            await hub.DisconnectAsync(peer);
                            Interlocked.Increment(ref pooled);
                            break;
                        default:
                            await hub.DisconnectAsync(peer, close: true);
                            Interlocked.Increment(ref closed);
                            break;
                    }
                }
                catch (Exception ex) when (ex is PeerNotConnectedException or ConnectionLimitReachedException)
                {
                    // Not connected: another worker disconnected it. Limit: every slot busy and none idle.
                    Interlocked.Increment(ref refused);
                }
            }
        })));
        return $"{connects} connects, {sends} sends, {pings} pings, {pooled} pooled, {closed} closed, {refused} refused as documented";
    }

    /// <summary>Closes everything and drains the inboxes, so what is left in memory is what the managers keep for good.</summary>
    private static async Task QuiesceAsync(ConnectionManager hub, List<TestNode> peers, int sockets)
    {
        foreach (var peer in peers)
            await hub.DisconnectAsync(peer.Id, close: true);
        await hub.ClearPoolAsync();
        await Wait.UntilAsync(() => Wait.OpenSockets() == sockets + peers.Count, "only the listeners are left");
        foreach (var peer in peers)
        {
            while (peer.Manager.TryReceive(out _))
            {
            }
        }
    }
}
