using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using QuDag.Network;
using QuDag.P2p.Protocols.Kad;
using QuDag.P2p.Protocols.Kad.Routing;
using QuDag.P2p.Tests.Interop;

namespace QuDag.Benchmarks;

/// <summary>
/// The DHT's figures (RESULTS.md, "The DHT"): managed bytes per routing-table entry, and FindPeer's time in a network of
/// unmodified js kad-dht nodes (tests/interop/kad.mjs, all in one Node process) beside js's own findPeer in the same
/// network, for the same targets, interleaved (ours first for even targets, js first for odd ones).
/// </summary>
internal static class Dht
{
    /// <param name="paths">Our lookups' disjoint paths; null for <see cref="KadOptions.DisjointPaths"/>'s default.</param>
    public static async Task<int> RunAsync(int nodes, int lookups, int tables, int? paths)
    {
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}; load average at start: {LoadAverage()}");
        TableMemory(tables);
        await LookupsAsync(nodes, lookups, paths ?? new KadOptions().DisjointPaths).ConfigureAwait(false);
        Console.WriteLine($"load average at end: {LoadAverage()}");
        return 0;
    }

    /// <summary>
    /// Fills <paramref name="count"/> routing tables with 2,000 random peers each (2 addresses, a public IP seen at):
    /// entries and replacement-cache entries both hold a RoutingEntry, so the bytes are divided by both together.
    /// The peers that were refused are garbage by the time of the second reading (full, compacting collections).
    /// </summary>
    private static void TableMemory(int count)
    {
        var keep = new RoutingTable[count];
        long before = Managed();
        for (int t = 0; t < count; t++)
        {
            var table = new RoutingTable(RandomPeer(), k: 20, maxPerGroup: 2);
            for (int i = 0; i < 2000; i++)
            {
                byte[] ip = RandomNumberGenerator.GetBytes(4);
                ip[0] = (byte)(1 + ip[0] % 200);
                var seenAt = new IPAddress(ip);
                table.TryAdd(RandomPeer(), [Multiaddr.Parse($"/ip4/{seenAt}/tcp/4001"), Multiaddr.Parse($"/ip6/2001:db8::{i:x}/tcp/4001")], seenAt);
            }
            keep[t] = table;
        }
        long after = Managed();
        long entries = keep.Sum(t => (long)t.Count), pending = keep.Sum(t => (long)t.PendingCount);
        Console.WriteLine($"routing tables: {count} x 2,000 random peers -> {entries:N0} entries + {pending:N0} waiting; " +
            $"{(after - before) / (double)(entries + pending):N0} B managed per entry (table overhead included), {(after - before) / (double)count / 1024:N1} KiB per table");
        GC.KeepAlive(keep);
    }

    private static async Task LookupsAsync(int count, int lookups, int paths)
    {
        var started = Stopwatch.StartNew();
        await using var js = await JsKadNetwork.StartAsync().ConfigureAwait(false);
        var nodes = await js.AddNodesAsync(count, topology: "random", degree: 4, timeout: TimeSpan.FromMinutes(15)).ConfigureAwait(false);
        await js.WaitForTablesAsync(tables => tables.All(t => t.Peers.Count >= 3), TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        // Then until the tables stop growing (every node's self-query has run): before that, the nodes nearest a target
        // may not know it yet, and a lookup from a small table (ours) misses it where js's querier, whose table holds
        // most of the network by then, does not.
        int total = await CrawlBench.SettleAsync([js]).ConfigureAwait(false);
        Console.WriteLine($"js network: {count} kad servers in one Node process, random graph of degree 4, ready in {started.Elapsed.TotalSeconds:N1} s " +
            $"(tables settled at {total:N0} entries)");

        // Ours starts knowing node 0 only (no bootstrap walk, which would put the whole network in our table), as js's
        // querier knows its few neighbours; both tables grow with every lookup.
        await using var manager = new ConnectionManager(new ConnectionManagerOptions
        {
            DhtMode = KadMode.Client,
            Dht = new KadOptions { RefreshInterval = TimeSpan.Zero, DisjointPaths = paths },
            MaxConnections = 10_000,
            KeepAliveInterval = TimeSpan.Zero,
        });
        manager.Dht!.AddPeer(PeerId.Parse(nodes[0].PeerId), [Multiaddr.Parse(nodes[0].Address)], IPAddress.Loopback);

        // Each target is one our table does not hold at that moment; js's lookups skip its peer store (useCache: false),
        // so both sides walk the DHT every time.
        const int querier = 1;
        var candidates = nodes.Skip(2).OrderBy(n => n.PeerId, StringComparer.Ordinal).ToList();
        var ours = new List<double>();
        var theirs = new List<double>();
        int oursFound = 0, theirsFound = 0, done = 0;
        for (int i = 0; i < lookups; i++)
        {
            var target = candidates.FirstOrDefault(n => manager.Dht.RoutingTable.Find(PeerId.Parse(n.PeerId)) is null);
            if (target is null)
                break;
            candidates.Remove(target);
            if (i % 2 == 0)
            {
                oursFound += await OursAsync(manager, target, ours).ConfigureAwait(false);
                theirsFound += await TheirsAsync(js, querier, target, theirs).ConfigureAwait(false);
            }
            else
            {
                theirsFound += await TheirsAsync(js, querier, target, theirs).ConfigureAwait(false);
                oursFound += await OursAsync(manager, target, ours).ConfigureAwait(false);
            }
            done++;
        }
        Console.WriteLine($"FindPeer over {done} targets in {count} js nodes: ours ({paths} disjoint path{(paths == 1 ? "" : "s")}) found {oursFound}, p50 {Percentile(ours, 0.5):N1} ms, p90 {Percentile(ours, 0.9):N1} ms; " +
            $"js's findPeer (node {querier}) found {theirsFound}, p50 {Percentile(theirs, 0.5):N1} ms, p90 {Percentile(theirs, 0.9):N1} ms; " +
            $"our table ends with {manager.Dht.RoutingTable.Count} peers, {manager.Dht.Counters.Sent} requests sent; js's querier's table {(await js.RoutingTableAsync(querier).ConfigureAwait(false)).Count}");
    }

    private static async Task<int> OursAsync(ConnectionManager manager, JsKadNode target, List<double> times)
    {
        long t0 = Stopwatch.GetTimestamp();
        var before = manager.Dht!.Counters;
        var found = await manager.FindPeerAsync(PeerId.Parse(target.PeerId)).ConfigureAwait(false);
        times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        if (found.Any(a => target.Address.StartsWith(a.ToString() + "/", StringComparison.Ordinal)))
            return 1;
        var after = manager.Dht.Counters;
        Console.WriteLine($"  ours missed {target.PeerId} ({target.Address}): found [{string.Join(", ", found)}]; " +
            $"{after.Sent - before.Sent} requests, {after.Failed - before.Failed} failed");
        return 0;
    }

    private static async Task<int> TheirsAsync(JsKadNetwork js, int querier, JsKadNode target, List<double> times)
    {
        long t0 = Stopwatch.GetTimestamp();
        try
        {
            var found = await js.FindPeerAsync(querier, target.PeerId, TimeSpan.FromMinutes(2), useCache: false).ConfigureAwait(false);
            times.Add(found.Ms); // js's own time, without the JSON-line round trip
            return 1;
        }
        catch (JsNodeCommandException)
        {
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds); // js gave up: Not found
            return 0;
        }
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }

    private static PeerId RandomPeer() => PeerId.FromBytes([0x12, 0x20, .. RandomNumberGenerator.GetBytes(32)]);

    private static long Managed()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
}
