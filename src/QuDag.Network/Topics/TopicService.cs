using System.Collections.Concurrent;
using QuDag.P2p.Host;
using QuDag.P2p.Protocols.Gossipsub;
using QuDag.P2p.Upgrade;

namespace QuDag.Network;

/// <summary>
/// Gossip as the manager runs it: the manager's connections become gossip peers, and a peer leaves gossip when its
/// connection leaves the manager's use (disconnected to the pool, closed); each subscribed topic has a bounded receive
/// queue; delivery latency of messages stamped by QuDag.PS nodes goes to the metrics.
/// </summary>
/// <remarks>
/// A connection joins the router as soon as the host has upgraded it, before its first inbound stream, so a remote's
/// gossip stream is never refused for arriving before the manager adopted the connection; it leaves when it closes, or
/// when its peer's status leaves Connected (a disconnect puts the connection in the pool, where it carries nothing).
/// </remarks>
internal sealed class TopicService : IAsyncDisposable
{
    private readonly P2pHost _host;
    private readonly GossipRouter _router;
    private readonly TopicMetrics _metrics;
    private readonly int _capacity;
    private readonly ConcurrentDictionary<string, TopicInbox> _inboxes = new(StringComparer.Ordinal);

    public TopicService(P2pHost host, GossipsubOptions options, TopicMetrics metrics, int queueCapacity)
    {
        _host = host;
        _metrics = metrics;
        _capacity = queueCapacity;
        _router = new GossipRouter(host.Identity, options);
        _router.MessageDelivered += OnDelivered;
        foreach (string protocol in GossipRouter.Protocols)
            host.SetStreamHandler(protocol, _router.HandleStreamAsync);
        host.ConnectionOpened += _router.AddConnection;
        host.ConnectionClosed += _router.RemoveConnection;
        metrics.Source = Figures;
    }

    public GossipRouter Router => _router;

    /// <summary>The peer's status changed: its connections carry gossip only while it is Connected.</summary>
    public void OnPeerStatus(PeerId peer, bool connected)
    {
        // Every status change of every peer comes here: a copy of all the host's connections per change cost a
        // 1,000-peer connect burst a tenth of its allocations and contended with the host's adoption of new ones.
        foreach (var connection in _host.ConnectionsTo(peer))
        {
            if (connected && connection.IsOpen)
                _router.AddConnection(connection);
            else
                _router.RemoveConnection(connection);
        }
    }

    public bool Subscribe(string topic)
    {
        _inboxes.GetOrAdd(topic, _ => new TopicInbox(_capacity));
        return _router.Subscribe(topic);
    }

    public bool Unsubscribe(string topic)
    {
        bool left = _router.Unsubscribe(topic);
        if (_inboxes.TryRemove(topic, out var inbox))
            inbox.Complete();
        return left;
    }

    public TopicPublishResult Publish(string topic, ReadOnlyMemory<byte> payload)
    {
        var result = _router.Publish(topic, payload);
        return new TopicPublishResult(topic, result.Id.ToString(), result.Peers, payload.Length,
            GossipSequenceNumbers.PublishedAt(result.SequenceNumber) ?? DateTimeOffset.UtcNow);
    }

    public ValueTask<TopicMessage> ReceiveAsync(string topic, CancellationToken cancellationToken) =>
        _inboxes.TryGetValue(topic, out var inbox) ? inbox.ReceiveAsync(topic, cancellationToken) : throw new TopicNotSubscribedException(topic);

    public bool TryReceive(string topic, out TopicMessage? message)
    {
        message = null;
        return _inboxes.TryGetValue(topic, out var inbox) ? inbox.TryReceive(out message) : throw new TopicNotSubscribedException(topic);
    }

    private void OnDelivered(GossipDelivery delivery)
    {
        if (!_inboxes.TryGetValue(delivery.Topic, out var inbox))
            return;
        if (delivery.PublishedAt is { } published)
            _metrics.RecordDelivery(delivery.Topic, delivery.ReceivedAt - published);
        inbox.Add(new TopicMessage(delivery.Topic, delivery.Author, delivery.ReceivedFrom, delivery.Data, delivery.Id.ToString(),
            delivery.ReceivedAt, delivery.PublishedAt));
    }

    public IReadOnlyList<TopicInfo> GetTopics() => [.. _router.GetTopics().Select(Describe)];

    public TopicInfo? GetTopic(string topic) => _router.GetTopic(topic) is { } t ? Describe(t) : null;

    private TopicInfo Describe(GossipTopicStatistics t)
    {
        var inbox = _inboxes.GetValueOrDefault(t.Topic);
        var latency = _metrics.Latency(t.Topic);
        var (p50, p95, _) = latency?.Percentiles() ?? default;
        return new TopicInfo
        {
            Topic = t.Topic,
            Subscribed = t.Subscribed,
            MeshPeers = t.MeshPeers,
            Subscribers = t.Subscribers,
            Published = t.Published,
            Received = t.Received,
            Duplicates = t.Duplicates,
            Invalid = t.Invalid,
            Forwarded = t.Forwarded,
            Dropped = t.Dropped + (inbox?.Dropped ?? 0),
            Queued = inbox?.Count ?? 0,
            LatencySamples = latency?.Count ?? 0,
            LatencyP50 = p50,
            LatencyP95 = p95,
            LatencyMean = latency?.Mean ?? TimeSpan.Zero,
        };
    }

    /// <summary>What the meter exports: topics this node subscribes to or publishes to (a bounded set it chose), not every topic peers name.</summary>
    private IEnumerable<TopicFigures> Figures() =>
        GetTopics().Where(t => t.Subscribed || t.Published > 0).Select(t => new TopicFigures(t.Topic, t.MeshPeers.Count, t.Subscribers.Count,
            t.Published, t.Received, t.Duplicates, t.Invalid, t.Dropped));

    public async ValueTask DisposeAsync()
    {
        _host.ConnectionOpened -= _router.AddConnection;
        _host.ConnectionClosed -= _router.RemoveConnection;
        _metrics.Source = null;
        await _router.DisposeAsync().ConfigureAwait(false);
        foreach (var inbox in _inboxes.Values)
            inbox.Complete();
    }
}
