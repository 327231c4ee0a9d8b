using QuDag.P2p.Protocols.Gossipsub;

namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>
    /// Joins a gossipsub topic: announces it to every connected peer, grafts up to D of its subscribers into the mesh,
    /// and queues its messages for <see cref="ReceiveTopicAsync"/>. False when already subscribed.
    /// </summary>
    /// <exception cref="ArgumentException">The topic is empty or over 1,024 bytes of UTF-8.</exception>
    public bool SubscribeTopic(string topic)
    {
        ThrowIfDisposed();
        return _topics.Subscribe(topic);
    }

    /// <summary>Leaves a topic: announces it and prunes the mesh; waiting receives end with <see cref="TopicNotSubscribedException"/>. False when not subscribed.</summary>
    public bool UnsubscribeTopic(string topic)
    {
        ThrowIfDisposed();
        return _topics.Unsubscribe(topic);
    }

    /// <summary>The topics this node subscribes to.</summary>
    public IReadOnlyList<string> SubscribedTopics => _topics.Router.Subscriptions;

    /// <summary>
    /// Publishes a signed message on a topic (StrictSign; the sequence number stamps the publish time): to every subscriber
    /// above the publish threshold (flood publishing), or through the topic's fanout when not subscribed.
    /// </summary>
    /// <exception cref="GossipPublishException">No peer subscribes to the topic (InsufficientPeers), or the message is over MaxTransmitSize.</exception>
    public TopicPublishResult PublishTopic(string topic, ReadOnlyMemory<byte> payload)
    {
        ThrowIfDisposed();
        var result = _topics.Publish(topic, payload);
        _metrics.RecordSent(payload.Length);
        return result;
    }

    /// <summary>Waits for the next message of a subscribed topic.</summary>
    /// <exception cref="TopicNotSubscribedException">The node does not subscribe to it (or left it while waiting).</exception>
    public ValueTask<TopicMessage> ReceiveTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _topics.ReceiveAsync(topic, cancellationToken);
    }

    /// <summary>Takes a queued message of a subscribed topic if one waits.</summary>
    public bool TryReceiveTopic(string topic, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TopicMessage? message) =>
        _topics.TryReceive(topic, out message);

    /// <summary>Every topic known: subscribed, published to, or named by a peer's subscription, with its figures.</summary>
    public IReadOnlyList<TopicInfo> GetTopics() => _topics.GetTopics();

    /// <summary>One topic's figures; null when nothing is known of it.</summary>
    public TopicInfo? GetTopic(string topic) => _topics.GetTopic(topic);

    /// <summary>The gossipsub router underneath: peers, scores, router-wide counts.</summary>
    public GossipRouter Gossip => _topics.Router;
}
