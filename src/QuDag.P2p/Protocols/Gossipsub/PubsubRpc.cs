using System.Buffers;
using System.Text;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// The pubsub RPC (pubsub spec, gossipsub v1.0-v1.2): subscriptions 1, publish 2, control 3. One protobuf per
/// length-prefixed frame on a <c>/meshsub/*</c> or <c>/floodsub/1.0.0</c> stream.
/// </summary>
public sealed record PubsubRpc
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public IReadOnlyList<SubscriptionOption> Subscriptions { get; init; } = [];

    public IReadOnlyList<PubsubMessage> Messages { get; init; } = [];

    public ControlMessage? Control { get; init; }

    /// <summary>True when the RPC carries nothing.</summary>
    public bool IsEmpty => Subscriptions.Count == 0 && Messages.Count == 0 && (Control is null || Control.IsEmpty);

    /// <summary>The protobuf, fields in number order.</summary>
    public byte[] ToProtobuf()
    {
        var writer = new ArrayBufferWriter<byte>(256);
        Write(writer);
        return writer.WrittenSpan.ToArray();
    }

    internal void Write(ArrayBufferWriter<byte> writer)
    {
        var part = new ArrayBufferWriter<byte>(128);
        foreach (var subscription in Subscriptions)
        {
            part.ResetWrittenCount();
            ProtoWriter.WriteVarintField(part, 1, subscription.Subscribe ? 1UL : 0UL);
            ProtoWriter.WriteStringField(part, 2, subscription.Topic);
            ProtoWriter.WriteBytesField(writer, 1, part.WrittenSpan);
        }
        foreach (var message in Messages)
        {
            part.ResetWrittenCount();
            message.Write(part, withSignature: true);
            ProtoWriter.WriteBytesField(writer, 2, part.WrittenSpan);
        }
        if (Control is { IsEmpty: false } control)
        {
            part.ResetWrittenCount();
            control.Write(part);
            ProtoWriter.WriteBytesField(writer, 3, part.WrittenSpan);
        }
    }

    /// <summary>
    /// Parses one RPC. Throws <see cref="P2pProtocolException"/> for malformed protobuf, text that is not UTF-8, or
    /// more entries than <paramref name="limits"/> allow (counted before each entry is kept). Unknown fields are skipped.
    /// </summary>
    public static PubsubRpc Parse(ReadOnlySpan<byte> protobuf, RpcLimits? limits = null)
    {
        limits ??= RpcLimits.Default;
        var subscriptions = new List<SubscriptionOption>();
        var messages = new List<PubsubMessage>();
        ControlMessage? control = null;
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    Count(subscriptions.Count, limits.MaxSubscriptions, "subscriptions");
                    subscriptions.Add(ParseSubscription(reader.ReadBytes(), limits));
                    break;
                case 2:
                    Count(messages.Count, limits.MaxMessages, "messages");
                    messages.Add(PubsubMessage.Parse(reader.ReadBytes(), limits));
                    break;
                case 3:
                    control = ControlMessage.Parse(reader.ReadBytes(), limits, control);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        return new PubsubRpc { Subscriptions = subscriptions, Messages = messages, Control = control };
    }

    private static SubscriptionOption ParseSubscription(ReadOnlySpan<byte> protobuf, RpcLimits limits)
    {
        bool subscribe = false;
        string topic = "";
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1: subscribe = reader.ReadVarint() != 0; break;
                case 2: topic = ReadTopic(ref reader, limits); break;
                default: reader.Skip(); break;
            }
        }
        return new SubscriptionOption(subscribe, topic);
    }

    /// <summary>Throws when a list already holds <paramref name="max"/> entries.</summary>
    internal static void Count(int count, int max, string what)
    {
        if (count >= max)
            throw new P2pProtocolException($"A pubsub RPC carries more than {max} {what}.");
    }

    internal static string ReadTopic(ref ProtoReader reader, RpcLimits limits) => ReadText(ref reader, limits.MaxTopicLength, "topic");

    internal static string ReadText(ref ProtoReader reader, int maxLength, string what)
    {
        var bytes = reader.ReadBytes();
        if (bytes.Length > maxLength)
            throw new P2pProtocolException($"A pubsub {what} of {bytes.Length} bytes is longer than the {maxLength} allowed.");
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new P2pProtocolException($"A pubsub {what} is not valid UTF-8.", ex);
        }
    }
}

/// <summary>A subscription change: the sender joined (<paramref name="Subscribe"/>) or left <paramref name="Topic"/>.</summary>
public sealed record SubscriptionOption(bool Subscribe, string Topic);

/// <summary>IHAVE: the sender has these messages of <paramref name="Topic"/> in its cache.</summary>
public sealed record ControlIHave(string Topic, IReadOnlyList<MessageId> MessageIds);

/// <summary>PRUNE: the sender dropped us from its mesh of <paramref name="Topic"/>; do not GRAFT again for <paramref name="BackoffSeconds"/>.</summary>
public sealed record ControlPrune(string Topic, IReadOnlyList<PeerExchangeEntry> Peers, ulong? BackoffSeconds);

/// <summary>A peer offered in a PRUNE (peer exchange): its binary peer id and, optionally, a signed peer record (kept opaque).</summary>
public sealed record PeerExchangeEntry(byte[]? PeerId, byte[]? SignedPeerRecord);

/// <summary>The control part of an RPC: ihave 1, iwant 2, graft 3, prune 4, idontwant 5 (v1.2).</summary>
public sealed record ControlMessage
{
    public IReadOnlyList<ControlIHave> IHave { get; init; } = [];

    /// <summary>Message ids the sender wants (all IWANT entries flattened).</summary>
    public IReadOnlyList<MessageId> IWant { get; init; } = [];

    /// <summary>Topics the sender grafted us into.</summary>
    public IReadOnlyList<string> Graft { get; init; } = [];

    public IReadOnlyList<ControlPrune> Prune { get; init; } = [];

    /// <summary>Message ids the sender does not want forwarded to it (v1.2; all entries flattened).</summary>
    public IReadOnlyList<MessageId> IDontWant { get; init; } = [];

    public bool IsEmpty => IHave.Count == 0 && IWant.Count == 0 && Graft.Count == 0 && Prune.Count == 0 && IDontWant.Count == 0;

    internal void Write(ArrayBufferWriter<byte> writer)
    {
        var part = new ArrayBufferWriter<byte>(128);
        var inner = new ArrayBufferWriter<byte>(64);
        foreach (var ihave in IHave)
        {
            part.ResetWrittenCount();
            ProtoWriter.WriteStringField(part, 1, ihave.Topic);
            foreach (var id in ihave.MessageIds)
                ProtoWriter.WriteBytesField(part, 2, id.Span);
            ProtoWriter.WriteBytesField(writer, 1, part.WrittenSpan);
        }
        if (IWant.Count > 0)
        {
            part.ResetWrittenCount();
            foreach (var id in IWant)
                ProtoWriter.WriteBytesField(part, 1, id.Span);
            ProtoWriter.WriteBytesField(writer, 2, part.WrittenSpan);
        }
        foreach (var topic in Graft)
        {
            part.ResetWrittenCount();
            ProtoWriter.WriteStringField(part, 1, topic);
            ProtoWriter.WriteBytesField(writer, 3, part.WrittenSpan);
        }
        foreach (var prune in Prune)
        {
            part.ResetWrittenCount();
            ProtoWriter.WriteStringField(part, 1, prune.Topic);
            foreach (var peer in prune.Peers)
            {
                inner.ResetWrittenCount();
                if (peer.PeerId is not null) ProtoWriter.WriteBytesField(inner, 1, peer.PeerId);
                if (peer.SignedPeerRecord is not null) ProtoWriter.WriteBytesField(inner, 2, peer.SignedPeerRecord);
                ProtoWriter.WriteBytesField(part, 2, inner.WrittenSpan);
            }
            if (prune.BackoffSeconds is { } backoff) ProtoWriter.WriteVarintField(part, 3, backoff);
            ProtoWriter.WriteBytesField(writer, 4, part.WrittenSpan);
        }
        if (IDontWant.Count > 0)
        {
            part.ResetWrittenCount();
            foreach (var id in IDontWant)
                ProtoWriter.WriteBytesField(part, 1, id.Span);
            ProtoWriter.WriteBytesField(writer, 5, part.WrittenSpan);
        }
    }

    /// <summary>Parses a control message, appending to <paramref name="earlier"/> when the RPC repeats the field (protobuf merge).</summary>
    internal static ControlMessage Parse(ReadOnlySpan<byte> protobuf, RpcLimits limits, ControlMessage? earlier)
    {
        var ihave = new List<ControlIHave>(earlier?.IHave ?? []);
        var iwant = new List<MessageId>(earlier?.IWant ?? []);
        var graft = new List<string>(earlier?.Graft ?? []);
        var prune = new List<ControlPrune>(earlier?.Prune ?? []);
        var idontwant = new List<MessageId>(earlier?.IDontWant ?? []);
        int iwantEntries = 0, idontwantEntries = 0;
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    PubsubRpc.Count(ihave.Count, limits.MaxControlEntries, "IHAVE entries");
                    ihave.Add(ParseIHave(reader.ReadBytes(), limits));
                    break;
                case 2:
                    PubsubRpc.Count(iwantEntries++, limits.MaxControlEntries, "IWANT entries");
                    ReadIds(reader.ReadBytes(), 1, iwant, limits.MaxMessageIds, limits, "IWANT");
                    break;
                case 3:
                    PubsubRpc.Count(graft.Count, limits.MaxControlEntries, "GRAFT entries");
                    graft.Add(ParseTopicOnly(reader.ReadBytes(), limits));
                    break;
                case 4:
                    PubsubRpc.Count(prune.Count, limits.MaxControlEntries, "PRUNE entries");
                    prune.Add(ParsePrune(reader.ReadBytes(), limits));
                    break;
                case 5:
                    PubsubRpc.Count(idontwantEntries++, limits.MaxControlEntries, "IDONTWANT entries");
                    ReadIds(reader.ReadBytes(), 1, idontwant, limits.MaxIDontWantIds, limits, "IDONTWANT");
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        return new ControlMessage { IHave = ihave, IWant = iwant, Graft = graft, Prune = prune, IDontWant = idontwant };
    }

    private static ControlIHave ParseIHave(ReadOnlySpan<byte> protobuf, RpcLimits limits)
    {
        string topic = "";
        var ids = new List<MessageId>();
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1: topic = PubsubRpc.ReadTopic(ref reader, limits); break;
                case 2:
                    PubsubRpc.Count(ids.Count, limits.MaxMessageIds, "message ids in an IHAVE");
                    ids.Add(ReadId(ref reader, limits));
                    break;
                default: reader.Skip(); break;
            }
        }
        return new ControlIHave(topic, ids);
    }

    /// <summary>Reads the ids (field <paramref name="field"/>) of one IWANT or IDONTWANT entry into <paramref name="into"/>, which holds at most <paramref name="max"/>.</summary>
    private static void ReadIds(ReadOnlySpan<byte> protobuf, int field, List<MessageId> into, int max, RpcLimits limits, string what)
    {
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            if (reader.FieldNumber != field)
            {
                reader.Skip();
                continue;
            }
            PubsubRpc.Count(into.Count, max, $"message ids in {what}");
            into.Add(ReadId(ref reader, limits));
        }
    }

    private static MessageId ReadId(ref ProtoReader reader, RpcLimits limits)
    {
        var bytes = reader.ReadBytes();
        if (bytes.Length > limits.MaxMessageIdLength)
            throw new P2pProtocolException($"A message id of {bytes.Length} bytes is longer than the {limits.MaxMessageIdLength} allowed.");
        return new MessageId(bytes.ToArray());
    }

    private static string ParseTopicOnly(ReadOnlySpan<byte> protobuf, RpcLimits limits)
    {
        string topic = "";
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            if (reader.FieldNumber == 1)
                topic = PubsubRpc.ReadTopic(ref reader, limits);
            else
                reader.Skip();
        }
        return topic;
    }

    private static ControlPrune ParsePrune(ReadOnlySpan<byte> protobuf, RpcLimits limits)
    {
        string topic = "";
        var peers = new List<PeerExchangeEntry>();
        ulong? backoff = null;
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1: topic = PubsubRpc.ReadTopic(ref reader, limits); break;
                case 2:
                    PubsubRpc.Count(peers.Count, limits.MaxPeerExchange, "peers in a PRUNE");
                    peers.Add(ParsePeer(reader.ReadBytes()));
                    break;
                case 3: backoff = reader.ReadVarint(); break;
                default: reader.Skip(); break;
            }
        }
        return new ControlPrune(topic, peers, backoff);
    }

    private static PeerExchangeEntry ParsePeer(ReadOnlySpan<byte> protobuf)
    {
        byte[]? peerId = null, record = null;
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1: peerId = reader.ReadBytes().ToArray(); break;
                case 2: record = reader.ReadBytes().ToArray(); break;
                default: reader.Skip(); break;
            }
        }
        return new PeerExchangeEntry(peerId, record);
    }
}
