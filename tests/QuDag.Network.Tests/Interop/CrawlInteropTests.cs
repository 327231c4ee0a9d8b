using System.Diagnostics;
using QuDag.Network.Discovery;
using QuDag.P2p.Tests.Interop;
using Xunit.Abstractions;

namespace QuDag.Network.Tests.Interop;

/// <summary>
/// Networks of 100 unmodified js-libp2p kad-dht 16.4.5 nodes in one Node process (kad.mjs; server mode with js's
/// passthrough mapper, a tenth in client mode), each started once for the class: a chain of the servers (each client
/// dialing one of them) and a random graph of all with a hub (node 0) that 60 servers dial.
/// </summary>
public sealed class JsKadNetworksFixture : IAsyncLifetime
{
    public const int Size = 100;

    /// <summary>Servers of the random graph that also dial node 0, the hub.</summary>
    public const int HubDialers = 60;

    private readonly Dictionary<string, Task<(JsKadNetwork Js, IReadOnlyList<JsKadNode> Nodes)>> _networks = [];
    private readonly Lock _lock = new();

    /// <summary>The network of that topology, started and settled on first use (each at most once per class).</summary>
    public Task<(JsKadNetwork Js, IReadOnlyList<JsKadNode> Nodes)> GetAsync(string topology)
    {
        lock (_lock)
        {
            if (!_networks.TryGetValue(topology, out var network))
                _networks[topology] = network = StartAsync(topology);
            return network;
        }
    }

    private static async Task<(JsKadNetwork, IReadOnlyList<JsKadNode>)> StartAsync(string topology)
    {
        var js = await JsKadNetwork.StartAsync();
        try
        {
            IReadOnlyList<JsKadNode> nodes;
            if (topology == "chain")
            {
                // A chain of the servers, each client hanging off one. kad.mjs's own chain would run through the
                // clients, and a client is in no table, so the DHT would fall apart into ten pieces at them.
                nodes = await js.AddNodesAsync(Size, "none", clientEvery: 10);
                var servers = nodes.Where(n => n.Mode == "server").ToList();
                var links = servers.Zip(servers.Skip(1), (a, b) => (a.Index, b.Address))
                    .Concat(nodes.Where(n => n.Mode == "client").Select(c => (c.Index, servers[c.Index % servers.Count].Address)));
                await Parallel.ForEachAsync(links, new ParallelOptions { MaxDegreeOfParallelism = 8 },
                    async (link, ct) => await js.DialAsync(link.Index, link.Address, ct));
            }
            else
            {
                nodes = await js.AddNodesAsync(Size, topology, clientEvery: 10, degree: 3, seed: 19);
                // And a hub, as a network's bootstrap nodes are: 60 servers dial node 0, whose table then outgrows one
                // FIND_NODE answer (k = 20) and splits into js's trie, so reading it takes the walk, not one request.
                var dialers = nodes.Where(n => n.Mode == "server" && n.Index > 0).Take(HubDialers);
                await Parallel.ForEachAsync(dialers, new ParallelOptions { MaxDegreeOfParallelism = 8 },
                    async (n, ct) => await js.DialAsync(n.Index, nodes[0].Address, ct));
            }
            await SettleAsync(js);
            return (js, nodes);
        }
        catch
        {
            await js.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// js fills its tables for a while after the dials (each node's self-lookup, then refreshes): waits, bounded,
    /// until the total stops growing between two reads half a second apart.
    /// </summary>
    private static async Task SettleAsync(JsKadNetwork js)
    {
        int last = -1;
        for (int attempt = 0; attempt < 60; attempt++)
        {
            int total = (await js.RoutingTablesAsync()).Sum(t => t.Peers.Count);
            if (total == last && total > 0)
                return;
            last = total;
            await Task.Delay(500);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var network in _networks.Values)
        {
            if (network.IsCompletedSuccessfully)
                await network.Result.Js.DisposeAsync();
        }
    }
}

/// <summary>
/// Issue 19's acceptance for the crawler against js: from one bootstrap, at least 99 % of the server nodes within 10 s,
/// each with agent, protocols and DHT mode, and neighbour lists covering at least 95 % of the js routing tables as js
/// itself reports them; a client-mode bootstrap is a dialable Client result.
/// </summary>
[Trait("Category", "Interop")]
public sealed class CrawlInteropTests(JsKadNetworksFixture fixture, ITestOutputHelper output) : IClassFixture<JsKadNetworksFixture>
{
    public static TheoryData<string> Topologies => new() { "chain", "random" };

    [Theory]
    [MemberData(nameof(Topologies))]
    public async Task A_crawl_from_one_bootstrap_finds_every_server_with_its_data_and_reads_the_js_routing_tables(string topology)
    {
        var (js, nodes) = await fixture.GetAsync(topology);
        var servers = nodes.Where(n => n.Mode == "server").ToList();
        var before = await js.RoutingTablesAsync();

        await using var crawler = new Crawler();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var watch = Stopwatch.StartNew();
        var results = new List<CrawlResult>();
        // Not the hub: the crawl has to find its way.
        await foreach (var result in crawler.CrawlAsync([Multiaddr.Parse(servers[^1].Address)], cts.Token))
            results.Add(result);
        watch.Stop();
        var after = await js.RoutingTablesAsync();

        var byPeer = results.ToDictionary(r => r.PeerId.ToString());
        var found = servers.Where(s => byPeer.TryGetValue(s.PeerId, out var r) && r.Dialable && r.DhtMode == CrawlDhtMode.Server).ToList();
        Assert.True(found.Count >= Math.Ceiling(0.99 * servers.Count),
            $"found {found.Count} of {servers.Count} servers; missing: {string.Join(", ", servers.Except(found).Select(s => s.Index))}; " +
            $"errors: {string.Join("; ", results.Where(r => !r.Dialable).Select(r => $"{r.PeerId.ToShortString()} {r.Error} {r.ErrorMessage}"))}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"the crawl took {watch.Elapsed.TotalSeconds:0.0} s");
        foreach (var server in found)
        {
            var r = byPeer[server.PeerId];
            Assert.StartsWith("js-libp2p/", r.AgentVersion);
            Assert.Contains(KadProtocolId, r.Protocols);
            Assert.Contains("/ipfs/id/1.0.0", r.Protocols);
            Assert.True(r.RoutingTableComplete, $"{server.Index}'s table was not read whole ({r.Requests} requests, {r.ErrorMessage})");
        }

        // Coverage against js's own tables; an entry counts when js held it both before and after the crawl (js's
        // refreshes add and drop entries meanwhile, and a crawl cannot be asked to see the future).
        int stable = 0, covered = 0;
        foreach (var table in after.Where(t => t.Mode == "server"))
        {
            var held = before[table.Index].Peers.Intersect(table.Peers).ToList();
            var neighbours = byPeer.TryGetValue(table.PeerId, out var r) ? r.Neighbours.Select(n => n.ToString()).ToHashSet() : [];
            stable += held.Count;
            covered += held.Count(neighbours.Contains);
        }
        output.WriteLine($"{topology}: {results.Count} results, {found.Count}/{servers.Count} servers in {watch.Elapsed.TotalMilliseconds:0} ms, " +
            $"{results.Sum(r => r.Requests)} FIND_NODE, neighbours cover {covered}/{stable} stable js table entries");
        Assert.True(stable > servers.Count, $"js's tables hold {stable} entries in all");
        Assert.True(covered >= 0.95 * stable, $"the crawl's neighbour lists cover {covered} of {stable} js routing-table entries");
        if (topology == "random")
        {
            // The hub's table, bigger than one answer, is read whole, over several requests.
            var hub = byPeer[nodes[0].PeerId];
            var hubTable = before[0].Peers.Intersect(after[0].Peers).ToList();
            output.WriteLine($"hub: {hubTable.Count} stable entries, {hub.Neighbours.Count} neighbours read in {hub.Requests} FIND_NODE");
            Assert.True(hubTable.Count >= 40, $"the hub's table holds {hubTable.Count}");
            Assert.True(hub.Requests > 1);
            Assert.True(hubTable.Count(e => hub.Neighbours.Any(n => n.ToString() == e)) >= 0.95 * hubTable.Count,
                $"the hub's {hubTable.Count} entries are covered by {hub.Neighbours.Count} neighbours");
        }
    }

    [Fact]
    public async Task A_client_mode_node_given_as_bootstrap_is_a_dialable_result_with_DhtMode_Client()
    {
        var (_, nodes) = await fixture.GetAsync("random");
        var client = nodes.First(n => n.Mode == "client");

        await using var crawler = new Crawler();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var results = new List<CrawlResult>();
        await foreach (var result in crawler.CrawlAsync([Multiaddr.Parse(client.Address)], cts.Token))
            results.Add(result);

        var r = Assert.Single(results);
        Assert.Equal(client.PeerId, r.PeerId.ToString());
        Assert.True(r.Dialable);
        Assert.Equal(CrawlError.None, r.Error);
        Assert.Equal(CrawlDhtMode.Client, r.DhtMode);
        Assert.DoesNotContain(KadProtocolId, r.Protocols);
        Assert.StartsWith("js-libp2p/", r.AgentVersion);
        Assert.Empty(r.Neighbours);
        Assert.Equal(1, r.Requests); // asked while identify was on its way; js refused the stream
    }

    private const string KadProtocolId = "/ipfs/kad/1.0.0";
}
