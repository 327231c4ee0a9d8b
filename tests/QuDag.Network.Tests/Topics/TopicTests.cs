using QuDag.P2p.Protocols.Gossipsub;
using QuDag.P2p.Tests.Interop;

namespace QuDag.Network.Tests.Topics;

/// <summary>
/// Topics through the manager: two QuDag.PS nodes and unmodified js-libp2p gossipsub nodes (@libp2p/gossipsub 17.1.1,
/// one process) in one mesh; the manager's connections are the gossip peers.
/// </summary>
[Trait("Category", "Interop")]
public sealed class TopicTests
{
    private const string Topic = "qudag/topics";
    private const int HeartbeatMs = 200;

    private static ConnectionManagerOptions Options() => new()
    {
        Gossipsub = new GossipsubOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(HeartbeatMs), MessageId = MessageIdFunctions.Js },
        KeepAliveInterval = TimeSpan.Zero,
    };

    [Fact]
    public async Task Two_of_our_nodes_and_js_nodes_share_a_mesh_and_a_node_that_leaves_is_pruned()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = cts.Token;
        await using var js = await JsGossipMesh.StartAsync(6, [Topic], HeartbeatMs, ct);
        await using var a = await TestNode.StartAsync(Options());
        var b = await TestNode.StartAsync(Options());
        try
        {
            Assert.True(a.Manager.SubscribeTopic(Topic));
            Assert.True(b.Manager.SubscribeTopic(Topic));
            Assert.False(a.Manager.SubscribeTopic(Topic));
            await js.LatticeAsync(1, ct);
            foreach (int i in new[] { 0, 1 })
                await a.Manager.ConnectAsync(Multiaddr.Parse(js.Nodes[i].Address), ct);
            foreach (int i in new[] { 3, 4 })
                await b.Manager.ConnectAsync(Multiaddr.Parse(js.Nodes[i].Address), ct);
            await a.Manager.ConnectAsync(b.Id, b.EndPoint, ct);
            await Wait.UntilAsync(() => a.Manager.GetTopic(Topic)?.MeshPeers.Count == 3 && b.Manager.GetTopic(Topic)?.MeshPeers.Count == 3,
                "both of ours mesh with their three peers", 30_000);

            // Ours to ours and to every js node; the receiver measures latency from the stamp in the sequence number.
            for (int i = 0; i < 20; i++)
                Assert.True(a.Manager.PublishTopic(Topic, BitConverter.GetBytes(i)).Peers >= 3);
            var atB = new List<int>();
            for (int i = 0; i < 20; i++)
            {
                var message = await b.Manager.ReceiveTopicAsync(Topic, ct);
                Assert.Equal((a.Id, Topic), (message.From, message.Topic));
                Assert.NotNull(message.PublishedAt);
                atB.Add(BitConverter.ToInt32(message.Payload.Span));
            }
            Assert.Equal(Enumerable.Range(0, 20), atB.Order());
            var figures = b.Manager.GetTopic(Topic)!;
            Assert.Equal(20, figures.LatencySamples);
            Assert.InRange(figures.LatencyP95, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(10));
            await Wait.UntilAsync(() => js.StatsAsync(Topic, ct).Result.All(s => s.Received == 20), "every js node has all 20", 20_000);
            Assert.All(await js.StatsAsync(Topic, ct), s => Assert.Equal(0, s.Invalid));

            // A js node's message reaches both of ours; a js message carries no stamp of ours, so no latency sample.
            await js.PublishAsync(5, Topic, "from-js"u8.ToArray(), ct);
            Assert.Equal("from-js", System.Text.Encoding.UTF8.GetString((await a.Manager.ReceiveTopicAsync(Topic, ct)).Payload.Span));
            var fromJs = await b.Manager.ReceiveTopicAsync(Topic, ct);
            Assert.Null(fromJs.PublishedAt);
            Assert.Equal(20, b.Manager.GetTopic(Topic)!.LatencySamples);

            // b leaves the topic: a and b's js peers drop it from their mesh and subscribers.
            Assert.True(b.Manager.UnsubscribeTopic(Topic));
            await Assert.ThrowsAsync<TopicNotSubscribedException>(() => b.Manager.ReceiveTopicAsync(Topic, ct).AsTask());
            await Wait.UntilAsync(() => !a.Manager.GetTopic(Topic)!.MeshPeers.Contains(b.Id) && !a.Manager.GetTopic(Topic)!.Subscribers.Contains(b.Id),
                "a pruned b", 10_000);
            await Wait.UntilAsync(() => js.StatsAsync(Topic, ct).Result.Where(s => s.Index is 3 or 4)
                .All(s => !s.Mesh.Contains(b.Id.ToString()) && !s.Subscribers.Contains(b.Id.ToString())), "b's js peers pruned it", 10_000);

            // A disconnect to the pool takes the peer out of gossip too; the connection lives on in the pool.
            await a.Manager.DisconnectAsync(Multiaddr.Parse(js.Nodes[0].Address).PeerId!.Value);
            await Wait.UntilAsync(() => !a.Manager.Gossip.GetPeers().Any(p => p.PeerId.ToString() == js.Nodes[0].PeerId), "js 0 left a's gossip peers", 10_000);
            Assert.Equal(1, (await a.Manager.GetMetricsAsync()).IdleConnections);
        }
        finally
        {
            await b.DisposeAsync();
        }
    }
}
