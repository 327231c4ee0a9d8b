using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>A new valid message of a topic we subscribe to, as the router delivers it.</summary>
/// <param name="Topic">Its topic.</param>
/// <param name="Author">Who published it (signed it).</param>
/// <param name="ReceivedFrom">The peer it first came from.</param>
/// <param name="Data">The payload.</param>
/// <param name="Id">Its message id.</param>
/// <param name="SequenceNumber">The author's sequence number.</param>
/// <param name="ReceivedAt">When it arrived.</param>
/// <param name="PublishedAt">When it was published, when the author is a QuDag.PS node (its sequence number is a stamp).</param>
public sealed record GossipDelivery(string Topic, PeerId Author, PeerId ReceivedFrom, byte[] Data, MessageId Id, ulong SequenceNumber,
    DateTimeOffset ReceivedAt, DateTimeOffset? PublishedAt);

/// <summary>What <see cref="GossipRouter.Publish"/> did.</summary>
/// <param name="Id">The message id.</param>
/// <param name="Peers">How many peers it was sent to.</param>
/// <param name="SequenceNumber">Its sequence number (a stamp of the publish time).</param>
public sealed record GossipPublishResult(MessageId Id, int Peers, ulong SequenceNumber);

/// <summary>Why a publish failed.</summary>
public enum GossipPublishError
{
    /// <summary>No peer to send to: none subscribes to the topic (or all score below the publish threshold). rust's InsufficientPeers.</summary>
    InsufficientPeers,
    /// <summary>The message is over <see cref="GossipsubOptions.MaxTransmitSize"/>.</summary>
    MessageTooLarge,
    /// <summary>The router was disposed.</summary>
    Closed,
}

/// <summary>A publish failed; nothing was sent.</summary>
public sealed class GossipPublishException(GossipPublishError error, string topic, string message) : P2pException(message)
{
    public GossipPublishError Error { get; } = error;

    public string Topic { get; } = topic;
}

/// <summary>A topic's figures, counted since the router started.</summary>
public sealed record GossipTopicStatistics
{
    public required string Topic { get; init; }

    /// <summary>True while we subscribe to it.</summary>
    public bool Subscribed { get; init; }

    /// <summary>Our mesh peers of the topic (for a topic we only publish to: its fanout peers).</summary>
    public IReadOnlyList<PeerId> MeshPeers { get; init; } = [];

    /// <summary>Peers that told us they subscribe to it.</summary>
    public IReadOnlyList<PeerId> Subscribers { get; init; } = [];

    /// <summary>Messages we published.</summary>
    public long Published { get; init; }

    /// <summary>New valid messages received (each counted once, at its first copy).</summary>
    public long Received { get; init; }

    /// <summary>Copies of messages seen before.</summary>
    public long Duplicates { get; init; }

    /// <summary>Messages refused: a bad or missing signature, author, sequence number or key.</summary>
    public long Invalid { get; init; }

    /// <summary>Messages forwarded to mesh peers (one per peer).</summary>
    public long Forwarded { get; init; }

    /// <summary>Copies not sent because a peer's queue was full.</summary>
    public long Dropped { get; init; }
}

/// <summary>What the router knows of one peer.</summary>
public sealed record GossipPeerInfo
{
    public required PeerId PeerId { get; init; }

    /// <summary>The pubsub protocol agreed (/meshsub/1.1.0, /meshsub/1.0.0, /floodsub/1.0.0); null while unknown.</summary>
    public string? Protocol { get; init; }

    /// <summary>The topics it subscribes to.</summary>
    public IReadOnlyList<string> Topics { get; init; } = [];

    /// <summary>The topics whose mesh holds it.</summary>
    public IReadOnlyList<string> Mesh { get; init; } = [];

    /// <summary>Its v1.1 score.</summary>
    public double Score { get; init; }

    /// <summary>True when we dialed it (the mesh keeps D_out of these).</summary>
    public bool Outbound { get; init; }
}

/// <summary>Router-wide counts of what hostile or broken peers sent and what was done about it.</summary>
public sealed record GossipRouterStatistics
{
    /// <summary>RPCs that were malformed or over the size limit (their stream was reset).</summary>
    public long InvalidRpcs { get; init; }

    /// <summary>RPCs ignored because their sender's score was below the graylist threshold.</summary>
    public long GraylistedRpcs { get; init; }

    /// <summary>IHAVE messages ignored: past MaxIHaveMessages per heartbeat, past MaxIHaveLength ids asked, or from a low score.</summary>
    public long IHaveIgnored { get; init; }

    /// <summary>Message ids asked for with IWANT.</summary>
    public long IWantSent { get; init; }

    /// <summary>IWANT ids not answered: past MaxIWantPerHeartbeat, sent too often, unknown, or from a low score.</summary>
    public long IWantIgnored { get; init; }

    /// <summary>IWANT promises a peer did not keep in time.</summary>
    public long BrokenPromises { get; init; }

    /// <summary>Subscriptions ignored: past MaxTopicsPerPeer.</summary>
    public long SubscriptionsIgnored { get; init; }

    /// <summary>Frames dropped because a peer's queue was full.</summary>
    public long QueueDrops { get; init; }

    /// <summary>Messages in the message cache, and their bytes.</summary>
    public int CachedMessages { get; init; }

    public long CachedBytes { get; init; }

    /// <summary>Ids in the seen cache.</summary>
    public int SeenMessages { get; init; }

    /// <summary>Heartbeats run.</summary>
    public long Heartbeats { get; init; }
}

/// <summary>
/// QuDag.PS's sequence numbers are stamps: the publish time in Unix microseconds, shifted left 12 bits, with a 12-bit
/// marker (0x9D5) in the low bits, forced to increase. They are what the spec asks (a linearly increasing 64-bit
/// number), and a QuDag.PS receiver reads the publish time back to measure delivery latency. Another implementation's
/// number carries the marker by chance one time in 4,096 and then reads as a time far from now, which the caller's
/// plausibility check refuses.
/// </summary>
public static class GossipSequenceNumbers
{
    public const ulong Marker = 0x9D5;

    public static ulong Stamp(long unixMicroseconds) => ((ulong)unixMicroseconds << 12) | Marker;

    /// <summary>The publish time a stamp carries; null when <paramref name="sequenceNumber"/> is not one.</summary>
    public static DateTimeOffset? PublishedAt(ulong sequenceNumber)
    {
        if ((sequenceNumber & 0xFFF) != Marker)
            return null;
        ulong micros = sequenceNumber >> 12;
        if (micros > (ulong)(DateTimeOffset.MaxValue - DateTimeOffset.UnixEpoch).Ticks / 10)
            return null;
        return DateTimeOffset.UnixEpoch.AddTicks((long)micros * 10);
    }
}
