using QuDag.P2p.Protocols.Gossipsub;
using QuDag.P2p.Tests.Support;

namespace QuDag.P2p.Tests.Protocols.Gossipsub;

/// <summary>Our router against our router over real loopback connections (TCP, Noise, yamux).</summary>
public sealed class GossipRouterTests
{
    private const string Topic = "qudag/test";

    private static CancellationTokenSource Deadline(int seconds = 20) => new(TimeSpan.FromSeconds(seconds));

    /// <summary>Two nodes on <see cref="Topic"/>, a dialing b, once each is in the other's mesh (b is the caller's to dispose).</summary>
    private static async Task<(GossipTestNode A, GossipTestNode B)> MeshedPairAsync(CancellationToken ct)
    {
        var a = await GossipTestNode.StartAsync(ct: ct);
        var b = await GossipTestNode.StartAsync(ct: ct);
        a.Router.Subscribe(Topic);
        b.Router.Subscribe(Topic);
        await a.DialAsync(b, ct);
        await GossipTestNode.WaitUntilAsync(() => a.InMesh(Topic, b.PeerId) && b.InMesh(Topic, a.PeerId), "each is in the other's mesh", ct);
        return (a, b);
    }

    [Fact]
    public async Task Two_nodes_mesh_and_a_published_message_arrives_signed_with_its_publish_time()
    {
        using var cts = Deadline();
        var (a, b) = await MeshedPairAsync(cts.Token);
        await using var _ = a;
        await using var __ = b;

        var before = DateTimeOffset.UtcNow;
        var result = a.Router.Publish(Topic, "hello"u8.ToArray());
        var delivery = await b.ReceiveAsync(cts.Token);

        Assert.Equal(1, result.Peers);
        Assert.Equal((Topic, a.PeerId, a.PeerId, "hello"), (delivery.Topic, delivery.Author, delivery.ReceivedFrom, System.Text.Encoding.UTF8.GetString(delivery.Data)));
        Assert.Equal(result.Id, delivery.Id);
        Assert.NotNull(delivery.PublishedAt);
        Assert.InRange(delivery.PublishedAt!.Value, before.AddSeconds(-1), delivery.ReceivedAt);
        Assert.Equal(1, a.Router.GetTopic(Topic)!.Published);
        Assert.Equal(1, b.Router.GetTopic(Topic)!.Received);
        Assert.Equal("/meshsub/1.1.0", Assert.Single(a.Router.GetPeers()).Protocol);
    }

    /// <summary>
    /// A connection's end stops a pubsub writer without an exception: its idle wait is woken, not cancelled, and a stream
    /// the remote already reset is released, not half-closed. As when a manager pools a connection (its router drops the
    /// peer, resetting the remote's stream) and later closes it: 10,000 such closes cost the remote ends three exceptions
    /// each.
    /// </summary>
    [Fact]
    public async Task Closing_a_connection_stops_the_remote_pubsub_writer_without_an_exception()
    {
        using var cts = Deadline();
        using var exceptions = new ExceptionsInThisFlow(); // first: the nodes' loops carry this test's flow
        await using var a = await GossipTestNode.StartAsync(ct: cts.Token);
        await using var b = await GossipTestNode.StartAsync(ct: cts.Token);
        a.Router.Subscribe(Topic);
        b.Router.Subscribe(Topic);
        var connection = await a.DialAsync(b, cts.Token);
        await GossipTestNode.WaitUntilAsync(() => a.InMesh(Topic, b.PeerId) && b.InMesh(Topic, a.PeerId), "each is in the other's mesh", cts.Token);
        a.Router.RemoveConnection(connection); // as pooling does: b's stream to a is reset, a's to b ends
        await a.Router.WritersClosedAsync().WaitAsync(cts.Token);

        exceptions.Start();
        await connection.DisposeAsync();
        await GossipTestNode.WaitUntilAsync(() => b.Router.GetPeers().Count == 0, "b dropped a", cts.Token);
        await b.Router.WritersClosedAsync().WaitAsync(cts.Token);

        // Only the writer's and the sessions': a's reader of the stream it reset above may still be unwinding (its
        // exceptions are the pooling's, not the close's).
        var thrown = exceptions.Thrown.Where(t => t.Contains(nameof(GossipStreamWriter)) || t.Contains("YamuxSession")).ToList();
        Assert.True(thrown.Count == 0, string.Join(Environment.NewLine, thrown));
    }

    [Fact]
    public async Task A_line_of_three_forwards_through_the_middle_and_a_triangle_counts_each_forwarded_copy_as_a_duplicate()
    {
        using var cts = Deadline();
        await using var a = await GossipTestNode.StartAsync(ct: cts.Token);
        await using var b = await GossipTestNode.StartAsync(ct: cts.Token);
        await using var c = await GossipTestNode.StartAsync(ct: cts.Token);
        foreach (var n in new[] { a, b, c })
            n.Router.Subscribe(Topic);
        await a.DialAsync(b, cts.Token);
        await b.DialAsync(c, cts.Token);
        await GossipTestNode.WaitUntilAsync(() => a.MeshSize(Topic) == 1 && b.MeshSize(Topic) == 2 && c.MeshSize(Topic) == 1, "a line a-b-c", cts.Token);

        // a knows only b: everything c gets, b forwarded.
        for (int i = 0; i < 10; i++)
            Assert.Equal(1, a.Router.Publish(Topic, BitConverter.GetBytes(i)).Peers);
        var atC = new List<int>();
        for (int i = 0; i < 10; i++)
            atC.Add(BitConverter.ToInt32((await c.ReceiveAsync(cts.Token)).Data));
        Assert.Equal(Enumerable.Range(0, 10), atC.Order());
        Assert.Equal(10, b.Router.GetTopic(Topic)!.Forwarded);
        Assert.Equal(0, c.Router.GetTopic(Topic)!.Duplicates);

        // Close the triangle: a now sends each message to b and c, and whichever of them forwards gives the other a copy it
        // has already seen. Each delivered once; every forwarded copy is a duplicate somewhere, whatever the order.
        await c.DialAsync(a, cts.Token);
        await GossipTestNode.WaitUntilAsync(() => a.MeshSize(Topic) == 2 && b.MeshSize(Topic) == 2 && c.MeshSize(Topic) == 2, "a full mesh of three", cts.Token);
        b.Drain();
        c.Drain();
        for (int i = 10; i < 30; i++)
            Assert.Equal(2, a.Router.Publish(Topic, BitConverter.GetBytes(i)).Peers);
        long Forwarded() => b.Router.GetTopic(Topic)!.Forwarded + c.Router.GetTopic(Topic)!.Forwarded - 10;
        long Duplicates() => b.Router.GetTopic(Topic)!.Duplicates + c.Router.GetTopic(Topic)!.Duplicates;
        await GossipTestNode.WaitUntilAsync(() => b.Router.GetTopic(Topic)!.Received == 30 && c.Router.GetTopic(Topic)!.Received == 30
            && Duplicates() == Forwarded(), "every forwarded copy arrived as a duplicate", cts.Token);
        Assert.InRange(Forwarded(), 20, 40); // at least one of b and c forwarded each message
        Assert.Equal(20, b.Drain().Count);
        Assert.Equal(20, c.Drain().Count);
    }

    [Fact]
    public async Task Leaving_a_topic_prunes_us_from_the_remote_mesh_and_its_subscribers()
    {
        using var cts = Deadline();
        var (a, b) = await MeshedPairAsync(cts.Token);
        await using var _ = a;
        await using var __ = b;

        Assert.True(a.Router.Unsubscribe(Topic));
        await GossipTestNode.WaitUntilAsync(() => !b.InMesh(Topic, a.PeerId) && !b.KnowsSubscriber(Topic, a.PeerId), "b dropped a", cts.Token);
        Assert.False(a.Router.GetTopic(Topic)?.Subscribed ?? false);
        // b has no one left to publish to.
        Assert.Equal(GossipPublishError.InsufficientPeers, Assert.Throws<GossipPublishException>(() => b.Router.Publish(Topic, new byte[] { 1 })).Error);
    }

    [Fact]
    public async Task A_node_that_goes_away_is_dropped_from_the_mesh()
    {
        using var cts = Deadline();
        var (a, b) = await MeshedPairAsync(cts.Token);
        await using var _ = a;
        await b.DisposeAsync();
        await GossipTestNode.WaitUntilAsync(() => a.MeshSize(Topic) == 0 && !a.KnowsSubscriber(Topic, b.PeerId), "a dropped b", cts.Token);
        Assert.Empty(a.Router.GetPeers());
    }

    [Fact]
    public async Task Publishing_to_an_unsubscribed_topic_goes_to_its_fanout_and_nowhere_without_subscribers()
    {
        using var cts = Deadline();
        await using var a = await GossipTestNode.StartAsync(ct: cts.Token);
        await using var b = await GossipTestNode.StartAsync(ct: cts.Token);
        b.Router.Subscribe(Topic);
        await a.DialAsync(b, cts.Token);
        Assert.Equal(GossipPublishError.InsufficientPeers, Assert.Throws<GossipPublishException>(() => a.Router.Publish("nobody/here", new byte[] { 1 })).Error);
        await GossipTestNode.WaitUntilAsync(() => a.KnowsSubscriber(Topic, b.PeerId), "a learned b's subscription", cts.Token);
        Assert.Equal(1, a.Router.Publish(Topic, "fanout"u8.ToArray()).Peers);
        Assert.Equal("fanout", System.Text.Encoding.UTF8.GetString((await b.ReceiveAsync(cts.Token)).Data));
        var figures = a.Router.GetTopic(Topic)!;
        Assert.False(figures.Subscribed);
        Assert.Equal([b.PeerId], figures.MeshPeers); // the fanout
        var tooLarge = Assert.Throws<GossipPublishException>(() => a.Router.Publish(Topic, new byte[a.Router.Options.MaxTransmitSize]));
        Assert.Equal(GossipPublishError.MessageTooLarge, tooLarge.Error);
    }
}
