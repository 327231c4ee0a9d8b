using System.Diagnostics;
using System.Globalization;
using QuDag.Network.Discovery;
using QuDag.P2p.Tests.Interop;

namespace QuDag.Benchmarks;

/// <summary>
/// <c>crawl &lt;nodes&gt; [processes] [degree]</c>: a network of unmodified js-libp2p kad-dht nodes (kad.mjs, a tenth in
/// client mode) spread over several Node processes, each a random graph of its own joined to the one before by a few
/// dials; then, in the same run, our crawl from one server and js's own discovery (getClosestPeers walks for random
/// keys from the same server until it has seen as many servers, or a minute has passed). Prints crawl time, peers/s
/// of each, coverage of js's tables, and our memory per crawled peer and per routing-table entry (managed heap after
/// full collections, results held).
/// </summary>
internal static class CrawlBench
{
    public static async Task<int> RunAsync(int nodes, int processes, int degree)
    {
        Console.WriteLine($"crawl: {nodes} js kad-dht nodes in {processes} process(es), random graphs of degree {degree}, a tenth clients");
        var networks = new List<JsKadNetwork>();
        try
        {
            var all = new List<(JsKadNetwork Js, JsKadNode Node)>();
            var setup = Stopwatch.StartNew();
            for (int p = 0; p < processes; p++)
            {
                var js = await JsKadNetwork.StartAsync();
                networks.Add(js);
                int count = nodes / processes + (p < nodes % processes ? 1 : 0);
                var added = await js.AddNodesAsync(count, "random", clientEvery: 10, degree: degree, seed: 100 + p, timeout: TimeSpan.FromMinutes(10));
                all.AddRange(added.Select(n => (js, n)));
                if (p > 0)
                {
                    // Join this process's graph to the previous one: a few of its servers dial servers there.
                    var previous = all.Where(x => x.Js == networks[p - 1] && x.Node.Mode == "server").Select(x => x.Node).ToList();
                    var mine = added.Where(n => n.Mode == "server").ToList();
                    for (int i = 0; i < 3; i++)
                        await js.DialAsync(mine[i * 7 % mine.Count].Index, previous[i * 11 % previous.Count].Address);
                }
            }
            Console.WriteLine($"  started in {setup.Elapsed.TotalSeconds:0.0} s; settling...");
            await SettleAsync(networks);
            var before = await TablesAsync(networks);
            var servers = all.Where(x => x.Node.Mode == "server").Select(x => x.Node.PeerId).ToHashSet();
            var bootstrap = all.First(x => x.Node.Mode == "server");

            // Ours.
            long heapBefore = Heap();
            var results = new List<CrawlResult>();
            var watch = Stopwatch.StartNew();
            await using (var crawler = new Crawler())
            {
                await foreach (var result in crawler.CrawlAsync([Multiaddr.Parse(bootstrap.Node.Address)]))
                    results.Add(result);
            }
            watch.Stop();
            long heapWithResults = Heap();
            int entries = results.Sum(r => r.Neighbours.Count);
            var stripped = results.Select(r => r with { Neighbours = [] }).ToList();
            results.Clear();
            long heapWithoutNeighbours = Heap();
            GC.KeepAlive(stripped);
            var after = await TablesAsync(networks);
            int foundServers = stripped.Count(r => r.Dialable && servers.Contains(r.PeerId.ToString()));

            // js's own discovery, from the same node, in the same run.
            var (jsSeen, jsTime, walks) = await JsDiscoveryAsync(bootstrap.Js, bootstrap.Node.Index, servers, TimeSpan.FromMinutes(1));

            int stable = 0;
            foreach (var (peer, table) in after)
                stable += before.TryGetValue(peer, out var earlier) ? table.Intersect(earlier).Count() : 0;
            Console.WriteLine();
            Console.WriteLine("| nodes | processes | servers | ours: found | ours: time | ours: peers/s | FIND_NODE | js tables (stable entries) | js getClosestPeers: found | js: time | js: peers/s | walks | bytes/crawled peer | bytes/table entry |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {nodes} | {processes} | {servers.Count} | {foundServers} | {watch.Elapsed.TotalSeconds:0.00} s | {stripped.Count / watch.Elapsed.TotalSeconds:0} | " +
                $"{stripped.Sum(r => r.Requests)} | {stable} | {jsSeen} | {jsTime.TotalSeconds:0.00} s | {jsSeen / jsTime.TotalSeconds:0} | {walks} | " +
                $"{(heapWithoutNeighbours - heapBefore) / Math.Max(1, stripped.Count)} | {(heapWithResults - heapWithoutNeighbours) / Math.Max(1, entries)} |"));
            return foundServers >= servers.Count * 0.99 ? 0 : 1;
        }
        finally
        {
            foreach (var js in networks)
                await js.DisposeAsync();
        }
    }

    /// <summary>Distinct servers js's own lookups reach: getClosestPeers walks for random keys, until all are seen or the limit.</summary>
    private static async Task<(int Seen, TimeSpan Time, int Walks)> JsDiscoveryAsync(JsKadNetwork js, int node, HashSet<string> servers, TimeSpan limit)
    {
        var seen = new HashSet<string>();
        var watch = Stopwatch.StartNew();
        int walks = 0;
        while (seen.Count < servers.Count - 1 && watch.Elapsed < limit)
        {
            // A random key, written as the (SHA-256 multihash) peer id it also is.
            var target = PeerId.FromBytes(KadKeySpace.RandomKeyIn(new byte[32], 0)).ToString();
            walks++;
            foreach (var peer in await js.GetClosestPeersAsync(node, target, TimeSpan.FromSeconds(60)))
            {
                if (servers.Contains(peer.Peer))
                    seen.Add(peer.Peer);
            }
        }
        return (seen.Count, watch.Elapsed, walks);
    }

    private static async Task<Dictionary<string, IReadOnlyList<string>>> TablesAsync(List<JsKadNetwork> networks)
    {
        var tables = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var js in networks)
        {
            foreach (var table in await js.RoutingTablesAsync())
                tables[table.PeerId] = table.Peers;
        }
        return tables;
    }

    /// <summary>Waits until the js routing tables stop growing (sampled every second, at most two minutes); returns
    /// their entries then. The dht driver waits the same way.</summary>
    internal static async Task<int> SettleAsync(List<JsKadNetwork> networks)
    {
        int last = -1;
        for (int attempt = 0; attempt < 120; attempt++)
        {
            int total = (await TablesAsync(networks)).Values.Sum(t => t.Count);
            if (total == last && total > 0)
                return total;
            last = total;
            await Task.Delay(1000);
        }
        return last;
    }

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
