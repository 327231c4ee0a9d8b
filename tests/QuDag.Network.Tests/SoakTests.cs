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
            var hub = new ConnectionManager(40);
            await using var disposeHub = new BoundedDisposal(hub);
            foreach (var peer in peers)
                hub.AddPeer(peer.Id, peer.EndPoint);

            // Warm-up: JIT, buffer pools, and each peer's own state (entry, circuit breaker), which is per peer, not per cycle.
            foreach (var peer in peers)
            {
                await Bounded(hub.ConnectAsync(peer.Id), "warm-up connect", peer.Id);
                await Bounded(hub.DisconnectAsync(peer.Id, close: true), "warm-up close", peer.Id);
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
            // What a leak leaves grows with the cycles; what the shared ArrayPool keeps does not: read and write
            // buffers (64-128 KiB) are now rented per use, and how many the pool's per-core stacks hold when the run
            // ends varies by up to about 1.4 MiB (measured: +0.1 to +1.4 MiB after 4,000 cycles, +0.75 after 20,000,
            // +0.87 after 40,000). The bound allows that fixed amount; the long form (QUDAG_SOAK_CYCLES=200000) makes
            // even 10 bytes per cycle exceed it.
            Assert.InRange(memoryAfter, 0, Math.Max(memoryBefore * 11 / 10, memoryBefore + (2 << 20)));
            Assert.Equal(metrics.MessagesSent, peers.Sum(p => p.Manager.GetMetrics().MessagesReceived));
        }
        finally
        {
            foreach (var peer in peers)
                await Bounded(peer.DisposeAsync().AsTask(), "disposal", peer.Id);
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
                            await Bounded(hub.ConnectAsync(peer), "connect", peer);
                            Interlocked.Increment(ref connects);
                            break;
                        case < 6:
                            await Bounded(hub.SendAsync(peer, payload), "send", peer);
                            Interlocked.Increment(ref sends);
                            break;
                        case 6:
                            await Bounded(hub.PingAsync(peer), "ping", peer);
                            Interlocked.Increment(ref pings);
                            break;
                        case < 9:
                            await Bounded(hub.DisconnectAsync(peer), "disconnect", peer);
                            Interlocked.Increment(ref pooled);
                            break;
                        default:
                            await Bounded(hub.DisconnectAsync(peer, close: true), "close", peer);
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

    /// <summary>Disposes the hub within a bound, so a failure before it is reported instead of hanging the run.</summary>
    private sealed class BoundedDisposal(ConnectionManager manager) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await Bounded(manager.DisposeAsync().AsTask(), "hub disposal", manager.LocalPeerId);
    }

    /// <summary>Every operation ends within a bound: a hang fails the run and says which operation hung.</summary>
    private static async Task Bounded(Task operation, string what, PeerId peer)
    {
        try
        {
            await operation.WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"a {what} of peer {peer.ToShortString()} did not end within 20 s");
        }
    }

    /// <summary>Closes everything and drains the inboxes, so what is left in memory is what the managers keep for good.</summary>
    private static async Task QuiesceAsync(ConnectionManager hub, List<TestNode> peers, int sockets)
    {
        foreach (var peer in peers)
            await Bounded(hub.DisconnectAsync(peer.Id, close: true), "quiescing close", peer.Id);
        await Bounded(hub.ClearPoolAsync(), "pool clearing", hub.LocalPeerId);
        await Wait.UntilAsync(() => Wait.OpenSockets() == sockets + peers.Count, "only the listeners are left");
        foreach (var peer in peers)
        {
            while (peer.Manager.TryReceive(out _))
            {
            }
        }
    }
}
