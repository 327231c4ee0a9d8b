namespace QuDag.Network;

/// <summary>A message of a topic this node subscribes to.</summary>
/// <param name="Topic">Its topic.</param>
/// <param name="From">Who published (signed) it.</param>
/// <param name="ReceivedFrom">The peer it first came from (the author, or a mesh peer that forwarded it).</param>
/// <param name="Payload">The payload.</param>
/// <param name="MessageId">Its gossipsub message id, as text (printable ids as they are, others in hex).</param>
/// <param name="ReceivedAt">When it arrived.</param>
/// <param name="PublishedAt">When it was published, when its author is a QuDag.PS node (its sequence number stamps the time).</param>
public sealed record TopicMessage(string Topic, PeerId From, PeerId ReceivedFrom, ReadOnlyMemory<byte> Payload, string MessageId,
    DateTimeOffset ReceivedAt, DateTimeOffset? PublishedAt);

/// <summary>What a publish did.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="MessageId">The message id, as text.</param>
/// <param name="Peers">How many peers it was sent to.</param>
/// <param name="Bytes">The payload's size.</param>
/// <param name="PublishedAt">The publish time its sequence number stamps.</param>
public sealed record TopicPublishResult(string Topic, string MessageId, int Peers, int Bytes, DateTimeOffset PublishedAt);

/// <summary>A topic's state and figures as the node runs.</summary>
public sealed record TopicInfo
{
    /// <summary>The topic's name.</summary>
    public required string Topic { get; init; }

    /// <summary>True while this node subscribes to it.</summary>
    public bool Subscribed { get; init; }

    /// <summary>The mesh peers (for a topic only published to: the fanout peers).</summary>
    public IReadOnlyList<PeerId> MeshPeers { get; init; } = [];

    /// <summary>Peers known to subscribe to it.</summary>
    public IReadOnlyList<PeerId> Subscribers { get; init; } = [];

    /// <summary>Messages this node published.</summary>
    public long Published { get; init; }

    /// <summary>New valid messages received.</summary>
    public long Received { get; init; }

    /// <summary>Copies of messages seen before.</summary>
    public long Duplicates { get; init; }

    /// <summary>Messages refused (bad signature, author, sequence number or key).</summary>
    public long Invalid { get; init; }

    /// <summary>Copies forwarded to mesh peers.</summary>
    public long Forwarded { get; init; }

    /// <summary>Copies dropped because a peer's send queue was full, plus messages dropped because the receive queue was full.</summary>
    public long Dropped { get; init; }

    /// <summary>Received messages waiting to be taken.</summary>
    public int Queued { get; init; }

    /// <summary>Messages whose delivery latency was measured (those published by QuDag.PS nodes).</summary>
    public long LatencySamples { get; init; }

    /// <summary>Median delivery latency (log buckets, within 5%).</summary>
    public TimeSpan LatencyP50 { get; init; }

    /// <summary>95th percentile delivery latency.</summary>
    public TimeSpan LatencyP95 { get; init; }

    /// <summary>Mean delivery latency.</summary>
    public TimeSpan LatencyMean { get; init; }
}

/// <summary>The node does not subscribe to the topic asked for.</summary>
public sealed class TopicNotSubscribedException(string topic)
    : InvalidOperationException($"This node does not subscribe to topic '{topic}': subscribe (Register-QuDagTopic) first.")
{
    /// <summary>The topic asked for.</summary>
    public string Topic { get; } = topic;
}
