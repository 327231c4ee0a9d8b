using QuDag.Network.Tests;
using QuDag.P2p.Protocols.Gossipsub;

namespace QuDag.P2p.Tests.Protocols.Gossipsub;

/// <summary>
/// What the router does on its own heartbeat, driven by a fake clock (the router's only; the sockets are real): hand-made
/// peers (<see cref="HostilePeer"/>) say exactly what the mechanism under test needs and record what the router answers.
/// Each test checks that the heartbeat's timer exists before it advances the clock, and advances one interval at a time.
/// </summary>
public sealed class GossipHeartbeatTests
{
    private const string Topic = "qudag/heartbeat";
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(1);

    private static CancellationTokenSource Deadline() => new(TimeSpan.FromSeconds(30));

    private static PubsubRpc Subscribe(string topic) => new() { Subscriptions = [new SubscriptionOption(true, topic)] };

    private static GossipsubOptions OnClock(TimerWatchingTimeProvider clock, GossipsubOptions? options = null) =>
        (options ?? new GossipsubOptions()) with { TimeProvider = clock, HeartbeatInterval = s_interval };

    /// <summary>Runs <paramref name="count"/> heartbeats: one interval at a time, each seen to have run.</summary>
    private static void Beat(TimerWatchingTimeProvider clock, GossipTestNode node, int count = 1)
    {
        Assert.Equal(1, clock.TimersCreated(s_interval)); // the router's heartbeat timer, made in its constructor
        for (int i = 0; i < count; i++)
        {
            long before = node.Router.GetStatistics().Heartbeats;
            clock.Advance(s_interval);
            Assert.Equal(before + 1, node.Router.GetStatistics().Heartbeats); // a fake timer fires inside Advance
        }
    }

    private static async Task<HostilePeer> SubscribedPeerAsync(GossipTestNode ours, CancellationToken ct)
    {
        var peer = new HostilePeer();
        await peer.ConnectAsync(ours, ct);
        await peer.SendAsync(Subscribe(Topic), ct);
        await GossipTestNode.WaitUntilAsync(() => ours.KnowsSubscriber(Topic, peer.PeerId), "our router knows the peer's subscription", ct);
        return peer;
    }

    [Fact]
    public async Task Only_the_routers_own_heartbeat_ages_the_message_cache_until_an_IWANT_is_no_longer_served()
    {
        using var cts = Deadline();
        var clock = new TimerWatchingTimeProvider();
        await using var ours = await GossipTestNode.StartAsync(OnClock(clock), cts.Token);
        ours.Router.Subscribe(Topic);
        await using var peer = await SubscribedPeerAsync(ours, cts.Token);
        var id = ours.Router.Publish(Topic, "cached"u8.ToArray()).Id;
        await peer.WaitForAsync(r => r.Messages.Count == 1, "the peer got the message", cts.Token);

        // Asked for it while cached: served again.
        await peer.SendAsync(new PubsubRpc { Control = new ControlMessage { IWant = [id] } }, cts.Token);
        await GossipTestNode.WaitUntilAsync(() => peer.Received.Count(r => r.Messages.Count == 1) == 2, "the IWANT answered", cts.Token);
        Assert.Equal(0, ours.Router.GetStatistics().Heartbeats); // no wall-clock heartbeat ran meanwhile
        Assert.Equal(1, ours.Router.GetStatistics().CachedMessages);

        // HistoryLength heartbeats later it has left the cache: the same IWANT is ignored.
        Beat(clock, ours, ours.Router.Options.HistoryLength);
        Assert.Equal(0, ours.Router.GetStatistics().CachedMessages);
        await peer.SendAsync(new PubsubRpc { Control = new ControlMessage { IWant = [id] } }, cts.Token);
        await GossipTestNode.WaitUntilAsync(() => ours.Router.GetStatistics().IWantIgnored == 1, "the late IWANT was ignored", cts.Token);
        Assert.Equal(2, peer.Received.Count(r => r.Messages.Count == 1));
    }

    [Fact]
    public async Task A_peer_that_announces_a_message_and_never_sends_it_breaks_its_promise_and_is_pruned_for_its_score()
    {
        using var cts = Deadline();
        var clock = new TimerWatchingTimeProvider();
        await using var ours = await GossipTestNode.StartAsync(OnClock(clock), cts.Token);
        ours.Router.Subscribe(Topic);
        await using var liar = await SubscribedPeerAsync(ours, cts.Token);
        await GossipTestNode.WaitUntilAsync(() => ours.InMesh(Topic, liar.PeerId), "the liar is in our mesh", cts.Token);

        var announced = new MessageId("never-sent"u8.ToArray());
        await liar.SendAsync(new PubsubRpc { Control = new ControlMessage { IHave = [new ControlIHave(Topic, [announced])] } }, cts.Token);
        await liar.WaitForAsync(r => r.Control?.IWant.Contains(announced) == true, "we asked for it (a promise)", cts.Token);
        Assert.True(ours.Router.GetScore(liar.PeerId) >= 0);

        // Within IWantFollowupTime nothing is broken yet; past it, the heartbeat counts the broken promise (P7) and,
        // with the score now negative, prunes the liar from the mesh.
        int followup = (int)ours.Router.Options.IWantFollowupTime.TotalSeconds;
        Beat(clock, ours, followup - 1);
        Assert.Equal(0, ours.Router.GetStatistics().BrokenPromises);
        Beat(clock, ours, 1);
        Assert.Equal(1, ours.Router.GetStatistics().BrokenPromises);
        Assert.True(ours.Router.GetScore(liar.PeerId) < 0, $"score {ours.Router.GetScore(liar.PeerId)}");
        Beat(clock, ours, 1);
        Assert.False(ours.InMesh(Topic, liar.PeerId));
        await liar.WaitForAsync(r => r.Control?.Prune.Any(p => p.Topic == Topic) == true, "the liar was pruned", cts.Token);
    }

    [Fact]
    public async Task Opportunistic_grafting_adds_a_peer_scoring_above_a_poor_mesh_median()
    {
        using var cts = Deadline();
        var clock = new TimerWatchingTimeProvider();
        HostilePeer? good = null;
        var options = OnClock(clock, new GossipsubOptions
        {
            D = 2, DLow = 2, DHigh = 3, DScore = 1, DOut = 0, OpportunisticGraftTicks = 2, OpportunisticGraftPeers = 1,
            Score = new PeerScoreParams { AppSpecificScore = id => id == good?.PeerId ? 1 : 0 }, // P5: 10 for the good one
        });
        await using var ours = await GossipTestNode.StartAsync(options, cts.Token);
        ours.Router.Subscribe(Topic);
        await using var a = await SubscribedPeerAsync(ours, cts.Token);
        await using var b = await SubscribedPeerAsync(ours, cts.Token);
        Assert.Equal(2, ours.MeshSize(Topic)); // grafted as they came, up to D_lo
        good = new HostilePeer();
        await using var _ = good;
        await good.ConnectAsync(ours, cts.Token);
        await good.SendAsync(Subscribe(Topic), cts.Token);
        await GossipTestNode.WaitUntilAsync(() => ours.KnowsSubscriber(Topic, good.PeerId), "the good peer subscribed", cts.Token);

        // The mesh is at D_lo..D_hi, so upkeep leaves it alone; its median score (0) is under the threshold (20).
        Beat(clock, ours, 1);
        Assert.False(ours.InMesh(Topic, good.PeerId));
        Beat(clock, ours, 1); // the second tick is an opportunistic round
        Assert.True(ours.InMesh(Topic, good.PeerId));
        await good.WaitForAsync(r => r.Control?.Graft.Contains(Topic) == true, "the good peer was grafted", cts.Token);
        Assert.Equal(3, ours.MeshSize(Topic));
    }

    [Fact]
    public async Task A_fanout_is_kept_while_we_publish_and_forgotten_a_FanoutTtl_after_the_last_publish()
    {
        using var cts = Deadline();
        var clock = new TimerWatchingTimeProvider();
        await using var ours = await GossipTestNode.StartAsync(OnClock(clock, new GossipsubOptions { FanoutTtl = TimeSpan.FromSeconds(5) }), cts.Token);
        await using var peer = await SubscribedPeerAsync(ours, cts.Token); // we do not subscribe: we only publish
        ours.Router.Publish(Topic, "first"u8.ToArray());
        Assert.Equal([peer.PeerId], ours.Router.GetTopic(Topic)!.MeshPeers);

        Beat(clock, ours, 4);
        ours.Router.Publish(Topic, "again"u8.ToArray()); // a publish restarts the TTL
        Beat(clock, ours, 5);
        Assert.Equal([peer.PeerId], ours.Router.GetTopic(Topic)!.MeshPeers);
        Beat(clock, ours, 1); // 6 s after the last publish
        var topic = ours.Router.GetTopic(Topic)!;
        Assert.Empty(topic.MeshPeers);
        Assert.Equal([peer.PeerId], topic.Subscribers); // the topic is still known (the peer subscribes), only the fanout went
    }
}
