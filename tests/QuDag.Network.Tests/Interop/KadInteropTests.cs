using System.Net;
using System.Text;
using QuDag.P2p.Protocols.Kad;
using QuDag.P2p.Tests.Interop;

namespace QuDag.Network.Tests.Interop;

/// <summary>
/// The DHT against unmodified js-libp2p 3.3 with @libp2p/kad-dht 16.4.5 (tests/interop/kad.mjs, many nodes in one
/// process): finding a far node through a chain, connecting by peer id alone, serving js's own lookups, and js's put,
/// get, provide and findProviders answered by us.
/// </summary>
[Trait("Category", "Interop")]
public sealed class KadInteropTests
{
    private static async Task<JsKadNetwork> ChainAsync(int count)
    {
        var js = await JsKadNetwork.StartAsync();
        var nodes = await js.AddNodesAsync(count, topology: "chain");
        await js.WaitForTablesAsync(tables => Enumerable.Range(0, count - 1).All(i => tables[i].Peers.Contains(nodes[i + 1].PeerId)));
        return js;
    }

    private static ConnectionManagerOptions Dht(KadMode mode, params string[] bootstrap) => new()
    {
        DhtMode = mode,
        DhtBootstrap = [.. bootstrap.Select(Multiaddr.Parse)],
        Dht = new KadOptions { RefreshInterval = TimeSpan.Zero },
    };

    [Fact]
    public async Task FindPeerAsync_finds_a_far_nodes_address_through_a_chain_of_js_nodes()
    {
        await using var js = await ChainAsync(5);
        // We know only node 0; node 4 is four hops down the chain.
        await using var manager = new ConnectionManager(Dht(KadMode.Client, js[0].Address));
        await manager.DhtBootstrapped;

        var addresses = await manager.FindPeerAsync(js[4].PeerId is var id ? PeerId.Parse(id) : default);
        Assert.Contains(Multiaddr.Parse(js[4].Address).WithoutPeerId(), addresses);
        // Into the address book: it is the endpoint a connect now uses.
        Assert.Equal(Multiaddr.Parse(js[4].Address).WithoutPeerId().ToString(), Multiaddr.FromEndPoint((IPEndPoint)manager.GetEndPoint(PeerId.Parse(js[4].PeerId))!).ToString());
        Assert.True(manager.Dht!.RoutingTable.Count >= 2, $"routing table: {manager.Dht.RoutingTable.Count}");
    }

    [Fact]
    public async Task ConnectAsync_by_peer_id_alone_finds_the_peer_in_the_dht_and_connects()
    {
        await using var js = await ChainAsync(4);
        await using var manager = new ConnectionManager(Dht(KadMode.Client, js[0].Address));
        await manager.DhtBootstrapped;
        var far = PeerId.Parse(js[3].PeerId);
        Assert.Null(manager.GetEndPoint(far));

        await manager.ConnectAsync(far);

        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(far));
        Assert.True(await js.IsConnectedAsync(3, manager.LocalPeerId.ToString()));
    }

    [Fact]
    public async Task Without_the_dht_a_connect_by_peer_id_alone_still_needs_an_address()
    {
        await using var manager = new ConnectionManager(new ConnectionManagerOptions());
        await Assert.ThrowsAsync<PeerAddressUnknownException>(() => manager.ConnectAsync(PeerId.Parse("12D3KooWGNwqpRycvzoyNjk1FXpmpj129fh9NkDPfs9wgGidnGSq")));
        await Assert.ThrowsAsync<DhtDisabledException>(() => manager.FindPeerAsync(PeerId.Parse("12D3KooWGNwqpRycvzoyNjk1FXpmpj129fh9NkDPfs9wgGidnGSq")));
    }

    [Fact]
    public async Task In_server_mode_a_js_node_that_never_dialed_us_finds_our_address_with_its_own_findPeer()
    {
        await using var js = await ChainAsync(3);
        await using var manager = new ConnectionManager(Dht(KadMode.Server, js[0].Address));
        var listener = await manager.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Contains(KadProtocol.DefaultId, manager.Host.Protocols); // so identify announces it
        await manager.BootstrapDhtAsync();
        string us = manager.LocalPeerId.ToString();
        // js node 0 adds us to its table once identify showed kad and a ping answered.
        await js.WaitForTablesAsync(tables => tables[0].Peers.Contains(us));
        // A js node that joins after us, through node 0 only: it has never had a connection with us.
        var late = (await js.AddNodesAsync(1))[0];
        await js.DialAsync(late.Index, js[0].Address);
        await js.WaitForTablesAsync(tables => tables[late.Index].Peers.Contains(js[0].PeerId));
        Assert.False(await js.IsConnectedAsync(late.Index, us));

        var found = await js.FindPeerAsync(late.Index, us);

        Assert.Equal(us, found.Peer);
        Assert.Contains(listener.Addresses[0].WithoutPeerId().ToString(), found.Addrs);
    }

    [Fact]
    public async Task In_client_mode_we_do_not_announce_kad_and_js_keeps_us_out_of_its_table()
    {
        await using var js = await ChainAsync(2);
        await using var manager = new ConnectionManager(Dht(KadMode.Client, js[0].Address));
        await manager.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        await manager.BootstrapDhtAsync();
        Assert.DoesNotContain(KadProtocol.DefaultId, manager.Host.Protocols);
        Assert.True(manager.Dht!.RoutingTable.Count >= 1); // we keep a table all the same
        await js.WaitForTablesAsync(tables => tables[0].Peers.Contains(js[1].PeerId));
        Assert.DoesNotContain(manager.LocalPeerId.ToString(), (await js.RoutingTablesAsync())[0].Peers);
    }

    [Fact]
    public async Task Js_put_and_get_of_a_value_and_of_provider_records_work_against_us()
    {
        await using var manager = new ConnectionManager(Dht(KadMode.Server));
        var listener = await manager.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        string us = manager.LocalPeerId.ToString();
        await using var js = await JsKadNetwork.StartAsync();
        await js.AddNodesAsync(2); // two js nodes that know only us
        await js.DialAsync(0, listener.Addresses[0].ToString());
        await js.DialAsync(1, listener.Addresses[0].ToString());
        await js.WaitForTablesAsync(tables => tables.All(t => t.Peers.Contains(us)));

        await js.PutAsync(0, "/test/greeting", "hello from js");
        var stored = manager.Dht!.Records.Get(Encoding.UTF8.GetBytes("/test/greeting"));
        Assert.Equal("hello from js", Encoding.UTF8.GetString(Assert.IsType<KadRecord>(stored).Value));
        Assert.Equal("hello from js", await js.GetAsync(1, "/test/greeting")); // node 1 has it only from us

        string key = await js.ProvideAsync(0, "some content");
        Assert.True(manager.Dht.Providers.IsProvider(Convert.FromHexString(key), PeerId.Parse(js[0].PeerId)));
        var providers = await js.FindProvidersAsync(1, "some content");
        var provider = Assert.Single(providers);
        Assert.Equal(js[0].PeerId, provider.Peer);
        Assert.Contains(js[0].Address.Split("/p2p/")[0], provider.Addrs);
    }

    [Fact]
    public async Task Our_put_get_and_provide_reach_js_nodes_and_come_back()
    {
        await using var js = await ChainAsync(3);
        await using var manager = new ConnectionManager(Dht(KadMode.Client, js[0].Address));
        await manager.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        await manager.DhtBootstrapped;

        int stored = await manager.Dht!.PutValueAsync(Encoding.UTF8.GetBytes("/test/ours"), Encoding.UTF8.GetBytes("from C#"));
        Assert.True(stored >= 1, $"stored at {stored} js nodes");
        Assert.Equal("from C#", await js.GetAsync(2, "/test/ours"));

        // js's CID of "our content" (raw, sha2-256): its multihash is the key.
        byte[] key = [0x12, 0x20, .. System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("our content"))];
        Assert.True(await manager.Dht.ProvideAsync(key) >= 1);
        var providers = await js.FindProvidersAsync(2, "our content");
        Assert.Equal(manager.LocalPeerId.ToString(), Assert.Single(providers).Peer);

        await js.PutAsync(1, "/test/theirs", "from js");
        var record = await manager.Dht.GetValueAsync(Encoding.UTF8.GetBytes("/test/theirs"));
        Assert.Equal("from js", Encoding.UTF8.GetString(record!.Value));
    }
}
