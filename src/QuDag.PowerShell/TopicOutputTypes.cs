using System.Text;
using QuDag.Network;

namespace QuDag.PowerShell;

/// <summary>A gossipsub topic as Get-QuDagTopic and Register-QuDagTopic -PassThru write it.</summary>
public sealed class QuDagTopic
{
    internal QuDagTopic(TopicInfo info)
    {
        Topic = info.Topic;
        Subscribed = info.Subscribed;
        MeshPeerIds = [.. info.MeshPeers.Select(PeerIdArgument.Format)];
        SubscriberIds = [.. info.Subscribers.Select(PeerIdArgument.Format)];
        Published = info.Published;
        Received = info.Received;
        Duplicates = info.Duplicates;
        Invalid = info.Invalid;
        Forwarded = info.Forwarded;
        Dropped = info.Dropped;
        Queued = info.Queued;
        LatencySamples = info.LatencySamples;
        LatencyP50Ms = info.LatencySamples > 0 ? QuDagPeer.Ms(info.LatencyP50) : null;
        LatencyP95Ms = info.LatencySamples > 0 ? QuDagPeer.Ms(info.LatencyP95) : null;
    }

    /// <summary>The topic's name.</summary>
    public string Topic { get; }

    /// <summary>True while this session subscribes to it (Register-QuDagTopic).</summary>
    public bool Subscribed { get; }

    /// <summary>How many mesh peers it has (fanout peers for a topic only published to). Healthy: between D_lo (5) and D_hi (12).</summary>
    public int MeshPeers => MeshPeerIds.Length;

    /// <summary>How many connected peers subscribe to it.</summary>
    public int Subscribers => SubscriberIds.Length;

    /// <summary>The mesh peers' full ids.</summary>
    public string[] MeshPeerIds { get; }

    /// <summary>The subscribers' full ids.</summary>
    public string[] SubscriberIds { get; }

    /// <summary>Messages this session published.</summary>
    public long Published { get; }

    /// <summary>New valid messages received.</summary>
    public long Received { get; }

    /// <summary>Copies of messages seen before (normal: the mesh sends each message several ways).</summary>
    public long Duplicates { get; }

    /// <summary>Messages refused: bad signature, author, sequence number or key.</summary>
    public long Invalid { get; }

    /// <summary>Copies forwarded to mesh peers.</summary>
    public long Forwarded { get; }

    /// <summary>Copies dropped because a peer's send queue or this session's receive queue was full.</summary>
    public long Dropped { get; }

    /// <summary>Received messages waiting for Receive-QuDagMessage -Topic.</summary>
    public int Queued { get; }

    /// <summary>Messages whose delivery latency was measured (those published by QuDag.PS nodes).</summary>
    public long LatencySamples { get; }

    /// <summary>Median delivery latency, in milliseconds.</summary>
    public double? LatencyP50Ms { get; }

    /// <summary>95th percentile delivery latency, in milliseconds.</summary>
    public double? LatencyP95Ms { get; }
}

/// <summary>A message of a subscribed topic, as Receive-QuDagMessage -Topic writes it.</summary>
public sealed class QuDagTopicMessage
{
    internal QuDagTopicMessage(TopicMessage message)
    {
        Topic = message.Topic;
        From = PeerIdArgument.Format(message.From);
        ReceivedFrom = PeerIdArgument.Format(message.ReceivedFrom);
        Payload = message.Payload.ToArray();
        MessageId = message.MessageId;
        ReceivedAt = message.ReceivedAt;
        PublishedAt = message.PublishedAt;
        LatencyMs = message.PublishedAt is { } published ? QuDagPeer.Ms(message.ReceivedAt - published) : null;
    }

    /// <summary>The topic.</summary>
    public string Topic { get; }

    /// <summary>Who published (signed) it.</summary>
    public string From { get; }

    /// <summary>The peer it first came from: the author, or a mesh peer that forwarded it.</summary>
    public string ReceivedFrom { get; }

    /// <summary>The payload.</summary>
    public byte[] Payload { get; }

    /// <summary>The payload decoded as UTF-8.</summary>
    public string Text => Encoding.UTF8.GetString(Payload);

    /// <summary>The gossipsub message id (printable ids as they are, others in hex).</summary>
    public string MessageId { get; }

    /// <summary>When it arrived.</summary>
    public DateTimeOffset ReceivedAt { get; }

    /// <summary>When it was published, for messages of QuDag.PS nodes (their sequence numbers stamp the time).</summary>
    public DateTimeOffset? PublishedAt { get; }

    /// <summary>From publish to arrival, in milliseconds, when PublishedAt is known.</summary>
    public double? LatencyMs { get; }

    /// <inheritdoc/>
    public override string ToString() => Text;
}

/// <summary>What Send-QuDagMessage -Topic -PassThru writes: the message as published.</summary>
public sealed class QuDagPublishedMessage
{
    internal QuDagPublishedMessage(TopicPublishResult result)
    {
        Topic = result.Topic;
        MessageId = result.MessageId;
        Peers = result.Peers;
        Bytes = result.Bytes;
        PublishedAt = result.PublishedAt;
    }

    /// <summary>The topic.</summary>
    public string Topic { get; }

    /// <summary>The gossipsub message id.</summary>
    public string MessageId { get; }

    /// <summary>How many peers it was sent to.</summary>
    public int Peers { get; }

    /// <summary>The payload's size.</summary>
    public int Bytes { get; }

    /// <summary>When it was published.</summary>
    public DateTimeOffset PublishedAt { get; }
}
