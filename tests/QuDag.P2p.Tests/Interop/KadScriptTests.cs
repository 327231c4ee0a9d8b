namespace QuDag.P2p.Tests.Interop;

/// <summary>The kad.mjs harness itself: many js DHT nodes in one process, wired as asked, with clients among them.</summary>
[Trait("Category", "Interop")]
public sealed class KadScriptTests
{
    [Fact]
    public async Task A_chain_fills_each_routing_table_with_its_neighbours_and_js_finds_the_far_end()
    {
        await using var js = await JsKadNetwork.StartAsync();
        var nodes = await js.AddNodesAsync(5, topology: "chain");
        await js.WaitForTablesAsync(tables => Enumerable.Range(0, 4).All(i => tables[i].Peers.Contains(nodes[i + 1].PeerId)));

        // js's own lookup walks the chain: node 0 finds node 4, four hops away.
        var found = await js.FindPeerAsync(0, nodes[4].PeerId);
        Assert.Contains(nodes[4].Address.Split("/p2p/")[0], found.Addrs);
    }

    [Fact]
    public async Task Clients_take_part_in_a_random_graph_but_never_enter_a_routing_table()
    {
        await using var js = await JsKadNetwork.StartAsync();
        var nodes = await js.AddNodesAsync(9, topology: "random", clientEvery: 3, degree: 3);
        Assert.Equal(3, nodes.Count(n => n.Mode == "client"));
        var clients = nodes.Where(n => n.Mode == "client").Select(n => n.PeerId).ToHashSet();
        var tables = await js.WaitForTablesAsync(tables => tables.Where(t => t.Mode == "server").All(t => t.Peers.Count > 0));
        Assert.All(tables, t => Assert.DoesNotContain(t.Peers, clients.Contains));
    }
}
