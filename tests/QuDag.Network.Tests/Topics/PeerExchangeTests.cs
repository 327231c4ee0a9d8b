using QuDag.P2p.Protocols.Gossipsub;

namespace QuDag.Network.Tests.Topics;

/// <summary>
/// Peer exchange between our own managers: one prunes with peer exchange, passing on the signed peer record another
/// peer sent it in identify; the pruned one checks the record and dials the offered peer at its address, which it
/// learned from nowhere else.
/// </summary>
public sealed class PeerExchangeTests
{
    private const string Topic = "qudag/px";

    private static ConnectionManagerOptions Options(GossipsubOptions gossip) => new()
    {
        Gossipsub = gossip with { HeartbeatInterval = TimeSpan.FromMilliseconds(100) },
        KeepAliveInterval = TimeSpan.Zero,
    };

    [Fact]
    public async Task A_full_node_prunes_a_newcomer_with_the_signed_record_of_its_mesh_peer_and_the_newcomer_dials_it()
    {
        // The full node keeps a mesh of one and offers peers when it prunes.
        await using var full = await TestNode.StartAsync(Options(new GossipsubOptions { D = 1, DLow = 1, DHigh = 1, DScore = 0, DOut = 0, DoPeerExchange = true }));
        await using var member = await TestNode.StartAsync(Options(new GossipsubOptions()));
        var fullId = full.Id;
        await using var newcomer = await TestNode.StartAsync(Options(new GossipsubOptions
        {
            Score = new PeerScoreParams { AppSpecificScore = id => id == fullId ? 1 : 0 }, // trusts the full node's exchange
        }));
        var offers = new List<GossipPeerExchange>();
        newcomer.Manager.Gossip.PeerExchangeReceived += e => { lock (offers) offers.Add(e); };
        foreach (var node in new[] { full, member, newcomer })
            node.Manager.SubscribeTopic(Topic);

        await member.Manager.ConnectAsync(full.Id, full.EndPoint);
        await Wait.UntilAsync(() => full.Manager.GetTopic(Topic)?.MeshPeers.Contains(member.Id) == true
            && full.Manager.GetPeers().Single().AgentVersion is not null, "the member is in the full node's mesh and identified", 20_000);

        await newcomer.Manager.ConnectAsync(full.Id, full.EndPoint);
        Assert.Null(newcomer.Manager.GetEndPoint(member.Id)); // nothing told the newcomer where the member is
        await Wait.UntilAsync(() => newcomer.Manager.GetTopic(Topic)?.MeshPeers.Contains(member.Id) == true, "the newcomer meshed with the member", 20_000);

        GossipPeerExchange exchange;
        lock (offers)
            exchange = offers.First(e => e.Peers.Any(p => p.PeerId == member.Id));
        Assert.Equal((full.Id, Topic), (exchange.From, exchange.Topic));
        var offer = exchange.Peers.Single(p => p.PeerId == member.Id);
        Assert.Contains(offer.Addresses, a => a.TryGetEndPoint(out var ep) && ep.Equals(member.EndPoint));
        Assert.Equal(member.EndPoint, newcomer.Manager.GetEndPoint(member.Id));
        Assert.DoesNotContain(full.Id, newcomer.Manager.GetTopic(Topic)!.MeshPeers); // pruned, and in backoff
    }
}
