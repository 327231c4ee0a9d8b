using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Gossipsub;
using QuDag.P2p.Tests.Protocols.Gossipsub;

namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// Our gossipsub router against unmodified js-libp2p 3.3 nodes with @libp2p/gossipsub 17.1.1 (all js nodes in one
/// process, tests/interop/gossip.mjs). The 20-node mesh, joined through the manager, is QuDag.Network.Tests' TopicMeshTests.
/// </summary>
[Trait("Category", "Interop")]
public sealed class GossipsubInteropTests
{
    private const string Topic = "qudag/interop";
    private const int HeartbeatMs = 100;

    /// <summary>
    /// A js bootstrapper (mesh degree 0, doPX) answers our GRAFT with a PRUNE offering its other topic peers with their
    /// signed peer records: the router checks each record (js's envelope, js's signature) and hands up the addresses
    /// the js nodes listen on, and the address of our other node, whose record js took from our identify. A router that does not trust the bootstrapper (the default AcceptPXThreshold, 10, against
    /// a fresh peer's score of about 0) ignores the same offer.
    /// </summary>
    [Fact]
    public async Task A_js_bootstrapper_prunes_us_with_peer_exchange_whose_signed_records_give_the_js_addresses()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = cts.Token;
        await using var js = await JsGossipMesh.StartAsync(4, [Topic], HeartbeatMs, ct, bootstrappers: [0]);
        await js.LatticeAsync(1, ct); // 0-1, 1-2, 2-3, 3-0: the bootstrapper knows 1 and 3
        var bootstrapper = PeerId.Parse(js.Nodes[0].PeerId);
        var trusting = GossipTestNode.TestOptions(new GossipsubOptions
        {
            MessageId = MessageIdFunctions.Js,
            Score = new PeerScoreParams { AppSpecificScore = id => id == bootstrapper ? 10 : 0 },
        });
        await using var ours = await GossipTestNode.StartAsync(trusting, ct);
        await using var wary = await GossipTestNode.StartAsync(ct: ct);
        var exchanges = System.Threading.Channels.Channel.CreateUnbounded<GossipPeerExchange>();
        ours.Router.PeerExchangeReceived += e => exchanges.Writer.TryWrite(e);
        int waryExchanges = 0;
        wary.Router.PeerExchangeReceived += _ => Interlocked.Increment(ref waryExchanges);
        ours.Router.Subscribe(Topic);
        wary.Router.Subscribe(Topic);

        // The wary one first: once js knows it as a subscriber, js offers it too, with the signed record our host sent
        // in identify (js keeps a record only when its signature checks out, so this is js verifying ours).
        await wary.Host.DialAsync(Multiaddr.Parse(js.Nodes[0].Address), ct);
        while ((await js.StatsAsync(Topic, ct))[0].Subscribers is var known && !known.Contains(wary.PeerId.ToString()))
            await Task.Delay(HeartbeatMs, ct);
        await ours.Host.DialAsync(Multiaddr.Parse(js.Nodes[0].Address), ct);

        var exchange = await exchanges.Reader.ReadAsync(ct);
        Assert.Equal((bootstrapper, Topic), (exchange.From, exchange.Topic));
        var expected = new[] { 1, 3 }.ToDictionary(i => PeerId.Parse(js.Nodes[i].PeerId), i => Multiaddr.Parse(js.Nodes[i].Address).WithoutPeerId());
        expected[wary.PeerId] = wary.Address.WithoutPeerId();
        Assert.Equal(expected.Keys.Select(p => p.ToString()).Order(), exchange.Peers.Select(o => o.PeerId.ToString()).Order());
        Assert.All(exchange.Peers, o => Assert.Contains(expected[o.PeerId], o.Addresses));
        Assert.Equal(0, ours.Router.GetStatistics().PeerRecordsRefused);
        Assert.False(ours.InMesh(Topic, bootstrapper)); // it pruned us, and the backoff keeps us from grafting again

        await GossipTestNode.WaitUntilAsync(() => wary.Router.GetStatistics().PeerExchangeIgnored > 0, "the wary router saw and ignored the offer", ct);
        Assert.Equal(0, Volatile.Read(ref waryExchanges));
    }
}
