using QuDag.P2p.Protocols.Gossipsub;
using QuDag.P2p.Tests.Interop;

namespace QuDag.Network.Tests.Topics;

/// <summary>
/// Issue 20's acceptance, through the manager: 20 unmodified js-libp2p gossipsub nodes (@libp2p/gossipsub 17.1.1, one
/// process) on one topic, of which 0, 7 and 14 are bootstrappers (mesh degree 0, peer exchange on: tests/interop/gossip.mjs).
/// Our node dials those three and nothing else, and no js node dials it. How it gets from 3 connections to a mesh of at
/// least D_lo: it grafts each bootstrapper as it learns its subscription; each answers with a PRUNE offering its other
/// topic peers with their signed peer records; our router trusts the three (P5, as lotus trusts its bootstrappers), checks
/// each record's signature, and the manager dials the offered peers at the records' addresses (its limits apply).
/// The mesh is formed once for the class (<see cref="JoinedMesh"/>); each test asserts on it.
/// </summary>
[Trait("Category", "Interop")]
public sealed class TopicMeshTests(TopicMeshTests.JoinedMesh mesh) : IClassFixture<TopicMeshTests.JoinedMesh>
{
    private const string Topic = "qudag/mesh";
    private const int HeartbeatMs = 100;
    private static readonly int[] s_bootstrappers = [0, 7, 14];

    [Fact]
    public async Task Our_node_joins_through_three_bootstrappers_and_builds_a_mesh_within_D_lo_to_D_hi_from_their_peer_exchange()
    {
        var ours = mesh.Ours;
        var options = ours.Options.Gossipsub;
        var topic = ours.GetTopic(Topic)!;
        Assert.InRange(topic.MeshPeers.Count, options.DLow, options.DHigh);
        var bootstrappers = s_bootstrappers.Select(i => PeerId.Parse(mesh.Js.Nodes[i].PeerId)).ToHashSet();
        Assert.DoesNotContain(topic.MeshPeers, bootstrappers.Contains); // they pruned us: their offers are what we meshed with

        // Every gossip peer beyond the three came from peer exchange, and we dialed it: no js node dialed us.
        var peers = ours.Gossip.GetPeers();
        Assert.True(peers.Count >= options.DLow + bootstrappers.Count, $"{peers.Count} gossip peers");
        Assert.All(peers, p => Assert.True(p.Outbound, $"{p.PeerId} dialed us"));
        Assert.All(await mesh.Js.StatsAsync(Topic, default), s => Assert.DoesNotContain(mesh.Ours.LocalPeerId.ToString(), s.Outbound));
        // A peer exchange dial may still be new: its subscription follows its connection by one message. Every gossip
        // peer (each a js node of the topic) is a subscriber once those have come.
        await Wait.UntilAsync(() => ours.Gossip.GetPeers().Count == ours.GetTopic(Topic)!.Subscribers.Count,
            "every gossip peer's subscription arrived");
        Assert.Equal(0, ours.Gossip.GetStatistics().PeerRecordsRefused);
    }

    [Fact]
    public async Task A_hundred_messages_we_publish_reach_all_twenty_js_nodes_and_none_is_rejected()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var before = (await mesh.Js.StatsAsync(Topic, cts.Token)).Select(s => s.Received).ToArray();
        for (int i = 0; i < 100; i++)
            mesh.Ours.PublishTopic(Topic, System.Text.Encoding.UTF8.GetBytes($"ours-{i}"));
        // Wait on the cheap counts (every node at 100 more), then read what each received once to check the author.
        using (var window = CancellationTokenSource.CreateLinkedTokenSource(cts.Token))
        {
            window.CancelAfter(TimeSpan.FromSeconds(20));
            while (!window.IsCancellationRequested && (await mesh.Js.StatsAsync(Topic, cts.Token)).Any(s => s.Received < before[s.Index] + 100))
                await Task.Delay(HeartbeatMs, CancellationToken.None);
        }
        string us = mesh.Ours.LocalPeerId.ToString();
        int Ours(IReadOnlyList<JsGossipMessage> node) => node.Count(m => m.From == us);
        var received = await mesh.Js.ReceivedAsync(Topic, cts.Token);
        Assert.Equal(20, received.Count);
        Assert.All(received.Select((n, i) => (Count: Ours(n), Index: i)), n => Assert.True(n.Count >= 99, $"js node {n.Index} received {n.Count} of 100"));
        Assert.All(await mesh.Js.StatsAsync(Topic, cts.Token), s => Assert.True(s.Invalid == 0, $"js node {s.Index} rejected {s.Invalid}: {s.InvalidReasons}"));
    }

    [Fact]
    public async Task We_receive_a_hundred_messages_a_js_node_we_are_not_connected_to_publishes()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // Node 10 is no bootstrapper's neighbour in the lattice, so none offered it: its messages reach us through the mesh.
        var publisher = PeerId.Parse(mesh.Js.Nodes[10].PeerId);
        Assert.DoesNotContain(mesh.Ours.Gossip.GetPeers(), p => p.PeerId == publisher);
        // All at once: js timers under load fire late, and pacing them made this test wait 15 s for the publishing alone.
        double publishMs = await mesh.Js.PublishManyAsync(10, Topic, "js-", 100, 0, cts.Token);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var got = new HashSet<string>();
        using (var window = CancellationTokenSource.CreateLinkedTokenSource(cts.Token))
        {
            window.CancelAfter(TimeSpan.FromSeconds(20));
            try
            {
                while (got.Count < 100)
                {
                    var message = await mesh.Ours.ReceiveTopicAsync(Topic, window.Token);
                    Assert.Equal(publisher, message.From);
                    got.Add(System.Text.Encoding.UTF8.GetString(message.Payload.Span));
                }
            }
            catch (OperationCanceledException) when (!cts.IsCancellationRequested)
            {
            }
        }
        Assert.True(got.Count >= 99, $"js published in {publishMs} ms, we waited {sw.ElapsedMilliseconds} ms; we received {got.Count} of 100 js messages: missing {string.Join(",", Enumerable.Range(0, 100).Select(i => $"js-{i}").Except(got))}");
        Assert.Equal(0, mesh.Ours.GetTopic(Topic)!.Invalid);
    }

    /// <summary>The js mesh and our node joined to it through the three bootstrappers, once for the class.</summary>
    public sealed class JoinedMesh : IAsyncLifetime
    {
        public JsGossipMesh Js { get; private set; } = null!;

        private TestNode? _ours;

        /// <summary>Our node.</summary>
        public ConnectionManager Ours => _ours!.Manager;

        public async Task InitializeAsync()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var ct = cts.Token;
            Js = await JsGossipMesh.StartAsync(20, [Topic], HeartbeatMs, ct, bootstrappers: s_bootstrappers);
            await Js.LatticeAsync(2, ct);
            var trusted = s_bootstrappers.Select(i => PeerId.Parse(Js.Nodes[i].PeerId)).ToHashSet();
            _ours = await TestNode.StartAsync(new ConnectionManagerOptions
            {
                Gossipsub = new GossipsubOptions
                {
                    HeartbeatInterval = TimeSpan.FromMilliseconds(HeartbeatMs),
                    MessageId = MessageIdFunctions.Js,
                    Score = new PeerScoreParams { AppSpecificScore = id => trusted.Contains(id) ? 10 : 0 },
                },
                KeepAliveInterval = TimeSpan.Zero,
            });
            Ours.SubscribeTopic(Topic);
            foreach (int i in s_bootstrappers)
                await Ours.ConnectAsync(Multiaddr.Parse(Js.Nodes[i].Address), ct);

            var options = Ours.Options.Gossipsub;
            await Wait.UntilAsync(() => Ours.GetTopic(Topic) is { } t && t.MeshPeers.Count >= options.DLow && t.MeshPeers.Count <= options.DHigh,
                "our mesh is within D_lo..D_hi", 60_000);
            // The js side: every ordinary node has a mesh, and our peers know us as a subscriber; ours: every peer we
            // dialed from an offer has told us its subscription (a peer dialed late in the exchange is a gossip peer a
            // moment before its SUBSCRIBE arrives: under load the tests below read that moment).
            while (true)
            {
                var stats = await Js.StatsAsync(Topic, ct);
                int knowUs = stats.Count(s => s.Subscribers.Contains(Ours.LocalPeerId.ToString()));
                int gossipPeers = Ours.Gossip.GetPeers().Count;
                if (stats.Where(s => !s_bootstrappers.Contains(s.Index)).All(s => s.Mesh.Length >= 2) && knowUs == gossipPeers
                    && Ours.GetTopic(Topic)?.Subscribers.Count == gossipPeers)
                    break;
                await Task.Delay(HeartbeatMs, ct);
            }
        }

        public async Task DisposeAsync()
        {
            if (_ours is not null)
                await _ours.DisposeAsync();
            if (Js is not null)
                await Js.DisposeAsync();
        }
    }
}
