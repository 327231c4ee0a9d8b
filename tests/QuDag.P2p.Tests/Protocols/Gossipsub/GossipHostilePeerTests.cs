using System.Collections.Concurrent;
using System.Net;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Protocols.Gossipsub;

namespace QuDag.P2p.Tests.Protocols.Gossipsub;

/// <summary>
/// Hostile peers against our router over real connections: a bare host that writes crafted RPC frames on its own
/// /meshsub/1.1.0 stream and records what our router sends it.
/// </summary>
public sealed class GossipHostilePeerTests
{
    private const string Topic = "qudag/hostile";

    private static PubsubRpc Subscribe(string topic) => new() { Subscriptions = [new SubscriptionOption(true, topic)] };

    [Theory]
    [InlineData(GossipsubProtocol.Floodsub)]
    [InlineData(GossipsubProtocol.MeshsubV10)]
    public async Task A_peer_that_speaks_only_an_older_protocol_gets_and_sends_messages(string protocol)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var ct = cts.Token;
        await using var ours = await GossipTestNode.StartAsync(ct: ct);
        await using var old = new HostilePeer(protocol);
        ours.Router.Subscribe(Topic);
        await old.ConnectAsync(ours, ct);
        await old.SendAsync(Subscribe(Topic), ct);
        await GossipTestNode.WaitUntilAsync(() => ours.Router.GetPeers().SingleOrDefault()?.Protocol == protocol && ours.KnowsSubscriber(Topic, old.PeerId),
            $"the peer speaks {protocol} and subscribes", ct);
        // Our subscription reached it on the stream we opened with its protocol, and so does what we publish.
        Assert.Equal(1, ours.Router.Publish(Topic, "to-old"u8.ToArray()).Peers);
        await GossipTestNode.WaitUntilAsync(() => old.Received.Any(r => r.Messages.Any(m => m.Data.AsSpan().SequenceEqual("to-old"u8))), "it got our message", ct);
        Assert.Contains(old.Received, r => r.Subscriptions.Contains(new SubscriptionOption(true, Topic)));
        // A floodsub peer is never grafted (it knows no mesh); a v1.0 peer is.
        Assert.Equal(protocol == GossipsubProtocol.MeshsubV10, ours.InMesh(Topic, old.PeerId));
        await old.SendAsync(new PubsubRpc { Messages = [PubsubMessage.Sign(old.Host.Identity, Topic, "from-old"u8.ToArray(), 1)] }, ct);
        var delivery = await ours.ReceiveAsync(ct);
        Assert.Equal((old.PeerId, "from-old"), (delivery.Author, System.Text.Encoding.UTF8.GetString(delivery.Data)));
    }

    [Fact]
    public async Task A_peer_sending_invalid_signatures_is_scored_down_then_graylisted_and_its_messages_dropped()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var ct = cts.Token;
        await using var ours = await GossipTestNode.StartAsync(ct: ct);
        await using var honest = await GossipTestNode.StartAsync(ct: ct);
        await using var hostile = new HostilePeer();
        ours.Router.Subscribe(Topic);
        honest.Router.Subscribe(Topic);
        await honest.DialAsync(ours, ct);
        await hostile.ConnectAsync(ours, ct);
        await hostile.SendAsync(Subscribe(Topic), ct);
        await GossipTestNode.WaitUntilAsync(() => ours.KnowsSubscriber(Topic, hostile.PeerId), "we know the hostile peer's subscription", ct);

        // Messages signed by the hostile peer's key over other bytes: each fails its check.
        for (ulong i = 1; i <= 3; i++)
        {
            var forged = PubsubMessage.Sign(hostile.Host.Identity, Topic, new byte[] { 1 }, i) with { Data = [2] };
            await hostile.SendAsync(new PubsubRpc { Messages = [forged] }, ct);
        }
        await GossipTestNode.WaitUntilAsync(() => ours.Router.GetTopic(Topic)!.Invalid == 3, "three invalid messages counted", ct);
        double score = ours.Router.GetScore(hostile.PeerId);
        Assert.True(score < ours.Router.Options.Thresholds.GraylistThreshold, $"score {score} is not below the graylist threshold");
        // The next heartbeat prunes a mesh peer whose score is negative.
        await GossipTestNode.WaitUntilAsync(() => !ours.InMesh(Topic, hostile.PeerId), "the heartbeat pruned the hostile peer", ct);
        await GossipTestNode.WaitUntilAsync(() => hostile.Received.Any(r => r.Control?.Prune.Any(p => p.Topic == Topic) == true), "our PRUNE reached it", ct);

        // Graylisted: even a validly signed message from it is ignored now, while the honest peer's arrive.
        var valid = PubsubMessage.Sign(hostile.Host.Identity, Topic, "valid but graylisted"u8.ToArray(), 10);
        await hostile.SendAsync(new PubsubRpc { Messages = [valid] }, ct);
        await GossipTestNode.WaitUntilAsync(() => ours.Router.GetStatistics().GraylistedRpcs >= 1, "the RPC was ignored", ct);
        honest.Router.Publish(Topic, "honest"u8.ToArray());
        var delivery = await ours.ReceiveAsync(ct);
        Assert.Equal(honest.PeerId, delivery.Author);
        Assert.Empty(ours.Drain()); // nothing from the hostile peer, invalid or graylisted
        Assert.Equal(1, ours.Router.GetTopic(Topic)!.Received);
    }

    [Fact]
    public async Task An_ihave_flood_gets_at_most_the_caps_worth_of_iwants_per_heartbeat()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var ct = cts.Token;
        // A heartbeat that never comes within the test: the per-heartbeat caps are not reset under us.
        await using var ours = await GossipTestNode.StartAsync(new GossipsubOptions { HeartbeatInterval = TimeSpan.FromHours(1) }, ct);
        await using var many = new HostilePeer();
        await using var large = new HostilePeer();
        ours.Router.Subscribe(Topic);
        var options = ours.Router.Options;
        int id = 0;
        async Task FloodAsync(HostilePeer peer, int messages, int idsEach)
        {
            await peer.ConnectAsync(ours, ct);
            await peer.SendAsync(Subscribe(Topic), ct);
            for (int r = 0; r < messages; r++)
            {
                var ids = Enumerable.Range(0, idsEach).Select(_ => new MessageId(BitConverter.GetBytes(++id))).ToList();
                await peer.SendAsync(new PubsubRpc { Control = new ControlMessage { IHave = [new ControlIHave(Topic, ids)] } }, ct);
            }
        }

        // 30 small IHAVEs: the message cap (10 per heartbeat) binds, 20 are ignored, 10 x 100 ids asked for.
        await FloodAsync(many, 30, 100);
        await GossipTestNode.WaitUntilAsync(() => ours.Router.GetStatistics().IHaveIgnored == 30 - options.MaxIHaveMessages, "20 IHAVEs ignored", ct);
        Assert.Equal(10 * 100, ours.Router.GetStatistics().IWantSent);
        await GossipTestNode.WaitUntilAsync(() => IWanted(many) == 1000, "1,000 ids asked of the first peer", ct);

        // 30 IHAVEs of 2,000 ids: the id cap (5,000 per heartbeat) binds after 3; 60,000 announced, 5,000 asked for.
        await FloodAsync(large, 30, 2000);
        await GossipTestNode.WaitUntilAsync(() => ours.Router.GetStatistics().IHaveIgnored == 20 + 27, "27 more IHAVEs ignored", ct);
        Assert.Equal(1000 + options.MaxIHaveLength, ours.Router.GetStatistics().IWantSent);
        await GossipTestNode.WaitUntilAsync(() => IWanted(large) == options.MaxIHaveLength, "5,000 ids asked of the second peer", ct);
        Assert.All(large.Received, r => Assert.True(GossipsubProtocol.Frame(r).Length <= options.MaxTransmitSize));
    }

    private static int IWanted(HostilePeer peer) => peer.Received.Sum(r => r.Control?.IWant.Count ?? 0);
}
