using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Kad.Routing;

namespace QuDag.P2p.Tests.Interop;

/// <summary>The kad.mjs harness itself: many js DHT nodes in one process, wired as asked, with clients among them.</summary>
[Trait("Category", "Interop")]
public sealed class KadScriptTests
{
    [Fact]
    public async Task A_chain_fills_each_routing_table_with_its_neighbours_and_js_finds_the_far_end()
    {
        await using var js = await JsKadNetwork.StartAsync();
        var created = await js.AddNodesAsync(5);
        // js's lookup follows a peer only when it is closer (XOR) to the key than the peer that named it, so the chain
        // runs closer and closer to its far end: every hop is then a step js takes. Wired in creation order (random
        // ids) the lookup got stranded unless the tables' background refresh had spread the peers first, which under
        // load it had not: two fresh-clone CI runs in two failed so.
        var far = created[^1];
        var target = KadKey.ForPeer(PeerId.Parse(far.PeerId));
        var chain = created.Take(4).OrderByDescending(n => KadKey.ForPeer(PeerId.Parse(n.PeerId)).DistanceTo(target)).Append(far).ToList();
        for (int i = 0; i < 4; i++)
            await js.DialAsync(chain[i].Index, chain[i + 1].Address);
        await js.WaitForTablesAsync(tables => Enumerable.Range(0, 4).All(i => tables[chain[i].Index].Peers.Contains(chain[i + 1].PeerId)));

        // js's own lookup walks the chain: its first node finds the far end, four hops away.
        var found = await js.FindPeerAsync(chain[0].Index, far.PeerId);
        Assert.Contains(far.Address.Split("/p2p/")[0], found.Addrs);
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
