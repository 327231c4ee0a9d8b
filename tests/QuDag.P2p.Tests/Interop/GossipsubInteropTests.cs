using QuDag.P2p.Protocols.Gossipsub;
using QuDag.P2p.Tests.Protocols.Gossipsub;

namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// Our gossipsub router in a mesh of unmodified js-libp2p 3.3 nodes with @libp2p/gossipsub 17.1.1 (all js nodes in one
/// process, tests/interop/gossip.mjs). Short heartbeats on both sides; js's message ids (the mesh's), js's default scoring.
/// </summary>
[Trait("Category", "Interop")]
public sealed class GossipsubInteropTests
{
    private const string Topic = "qudag/interop";
    private const int HeartbeatMs = 200;

    private static GossipsubOptions JsMeshOptions => new() { MessageId = MessageIdFunctions.Js, HeartbeatInterval = TimeSpan.FromMilliseconds(HeartbeatMs) };

    [Fact]
    public async Task Our_node_joins_a_mesh_of_twenty_js_nodes_and_messages_flow_both_ways()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = cts.Token;
        await using var mesh = await JsGossipMesh.StartAsync(20, [Topic], HeartbeatMs, ct);
        await using var ours = await GossipTestNode.StartAsync(JsMeshOptions, ct);
        ours.Router.Subscribe(Topic); // before any dial, as the js nodes did
        await mesh.LatticeAsync(2, ct);

        // We join through three js nodes; five others find us and dial in, as peers that discover a node would.
        foreach (int i in new[] { 0, 7, 14 })
            await ours.Host.DialAsync(QuDag.P2p.Identity.Multiaddr.Parse(mesh.Nodes[i].Address), ct);
        foreach (int i in new[] { 3, 5, 10, 12, 17 })
            await mesh.DialAsync(i, ours.Address.ToString(), ct);

        var options = ours.Router.Options;
        await GossipTestNode.WaitUntilAsync(() => ours.Router.GetTopic(Topic) is { } t && t.Subscribers.Count == 8
            && t.MeshPeers.Count >= options.DLow && t.MeshPeers.Count <= options.DHigh, "our mesh is within D_lo..D_hi with 8 subscribers", ct);
        await WaitForJsMeshAsync(mesh, ours, ct);

        // 100 messages from us reach all twenty js nodes, none rejected.
        for (int i = 0; i < 100; i++)
        {
            ours.Router.Publish(Topic, System.Text.Encoding.UTF8.GetBytes($"ours-{i}"));
            await Task.Delay(10, ct);
        }
        var stats = await WaitForJsDeliveriesAsync(mesh, 99, ct);
        Assert.All(stats, s => Assert.True(s.Received >= 99, $"js node {s.Index} received {s.Received} of 100"));
        Assert.All(stats, s => Assert.True(s.Invalid == 0, $"js node {s.Index} rejected {s.Invalid}: {s.InvalidReasons}"));
        var received = await mesh.ReceivedAsync(Topic, ct);
        Assert.All(received, node => Assert.All(node, m => Assert.Equal(ours.PeerId.ToString(), m.From)));

        // 100 messages from a js node we are not connected to reach us.
        Assert.DoesNotContain(ours.Router.GetPeers(), p => p.PeerId.ToString() == mesh.Nodes[9].PeerId);
        for (int i = 0; i < 100; i++)
        {
            await mesh.PublishAsync(9, Topic, System.Text.Encoding.UTF8.GetBytes($"js-{i}"), ct);
            await Task.Delay(10, ct);
        }
        var got = new HashSet<string>();
        using (var window = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            window.CancelAfter(TimeSpan.FromSeconds(20));
            try
            {
                while (got.Count < 100)
                {
                    var delivery = await ours.ReceiveAsync(window.Token);
                    Assert.Equal(mesh.Nodes[9].PeerId, delivery.Author.ToString());
                    got.Add(System.Text.Encoding.UTF8.GetString(delivery.Data));
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
            }
        }
        Assert.True(got.Count >= 99, $"we received {got.Count} of 100 js messages");
        Assert.Equal(0, ours.Router.GetTopic(Topic)!.Invalid);
    }

    /// <summary>Waits until every js node has a mesh and knows its subscribers (js grafts on its heartbeat).</summary>
    private static async Task WaitForJsMeshAsync(JsGossipMesh mesh, GossipTestNode ours, CancellationToken ct)
    {
        while (true)
        {
            var stats = await mesh.StatsAsync(Topic, ct);
            if (stats.All(s => s.Mesh.Length >= 2) && stats.Count(s => s.Subscribers.Contains(ours.PeerId.ToString())) == 8)
                return;
            await Task.Delay(HeartbeatMs, ct);
        }
    }

    private static async Task<IReadOnlyList<JsGossipNodeStats>> WaitForJsDeliveriesAsync(JsGossipMesh mesh, int atLeast, CancellationToken ct)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(ct);
        window.CancelAfter(TimeSpan.FromSeconds(20));
        var stats = await mesh.StatsAsync(Topic, ct);
        while (stats.Any(s => s.Received < 100) && !window.IsCancellationRequested)
        {
            await Task.Delay(HeartbeatMs, CancellationToken.None);
            stats = await mesh.StatsAsync(Topic, ct);
        }
        return stats;
    }
}
