using System.Buffers;
using System.Buffers.Binary;
using QuDag.P2p.Encoding;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// One pubsub message (the RPC's <c>Message</c>: from 1, data 2, seqno 3, topic 4, signature 5, key 6). Under
/// StrictSign, which QuDAG runs, every message carries its author, an 8-byte big-endian sequence number and the
/// author's signature over <c>"libp2p-pubsub:"</c> + this protobuf without the signature and key fields.
/// </summary>
public sealed record PubsubMessage
{
    /// <summary>What the signature covers, before the message's protobuf.</summary>
    public static ReadOnlySpan<byte> SignaturePrefix => "libp2p-pubsub:"u8;

    /// <summary>The author's binary peer id.</summary>
    public byte[]? From { get; init; }

    /// <summary>The payload.</summary>
    public byte[] Data { get; init; } = [];

    /// <summary>The author's sequence number: 8 bytes, big-endian, increasing.</summary>
    public byte[]? Seqno { get; init; }

    /// <summary>The topic.</summary>
    public string Topic { get; init; } = "";

    /// <summary>The author's signature.</summary>
    public byte[]? Signature { get; init; }

    /// <summary>The author's public-key protobuf, sent when the peer id does not inline it (rust omits it for Ed25519; js always sends it).</summary>
    public byte[]? Key { get; init; }

    /// <summary>The sequence number as a number, when it is the 8 bytes the spec says.</summary>
    public ulong? SequenceNumber => Seqno is { Length: 8 } s ? BinaryPrimitives.ReadUInt64BigEndian(s) : null;

    /// <summary>The author, when <see cref="From"/> is a valid peer id.</summary>
    public PeerId? Author => From is { } from && PeerId.TryFromBytes(from, out var peer, out _) ? peer : null;

    /// <summary>The protobuf, fields in number order.</summary>
    public byte[] ToProtobuf()
    {
        var writer = new ArrayBufferWriter<byte>(Data.Length + Topic.Length + 160);
        Write(writer, withSignature: true);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>The bytes the author signs: the prefix and the protobuf without signature and key.</summary>
    public byte[] SigningBytes()
    {
        var writer = new ArrayBufferWriter<byte>(Data.Length + Topic.Length + 96);
        writer.Write(SignaturePrefix);
        Write(writer, withSignature: false);
        return writer.WrittenSpan.ToArray();
    }

    internal void Write(ArrayBufferWriter<byte> writer, bool withSignature)
    {
        // As rust and js write it: data always (even empty), topic when not empty, the rest when present.
        if (From is not null) ProtoWriter.WriteBytesField(writer, 1, From);
        ProtoWriter.WriteBytesField(writer, 2, Data);
        if (Seqno is not null) ProtoWriter.WriteBytesField(writer, 3, Seqno);
        if (Topic.Length > 0) ProtoWriter.WriteStringField(writer, 4, Topic);
        if (!withSignature) return;
        if (Signature is not null) ProtoWriter.WriteBytesField(writer, 5, Signature);
        if (Key is not null) ProtoWriter.WriteBytesField(writer, 6, Key);
    }

    /// <summary>
    /// A message signed by <paramref name="identity"/>. The key field is left out, as rust-libp2p does, because an
    /// Ed25519 peer id inlines the key.
    /// </summary>
    public static PubsubMessage Sign(NodeIdentity identity, string topic, ReadOnlyMemory<byte> data, ulong sequenceNumber)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentException.ThrowIfNullOrEmpty(topic);
        byte[] seqno = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(seqno, sequenceNumber);
        var unsigned = new PubsubMessage { From = identity.PeerId.Bytes.ToArray(), Data = data.ToArray(), Seqno = seqno, Topic = topic };
        return unsigned with { Signature = identity.Sign(unsigned.SigningBytes()) };
    }

    /// <summary>
    /// Checks the message as StrictSign requires: an author, an 8-byte sequence number, a key (the key field, which
    /// must belong to the author, or the one the author's id inlines) and a valid signature. <paramref name="keys"/>
    /// caches parsed author keys, since every copy of a message is checked.
    /// </summary>
    public SignatureCheck Validate(AuthorKeyCache? keys = null)
    {
        if (From is null || !PeerId.TryFromBytes(From, out var author, out _))
            return SignatureCheck.InvalidAuthor;
        if (Seqno is not { Length: 8 })
            return SignatureCheck.InvalidSequenceNumber;
        if (Signature is null)
            return SignatureCheck.MissingSignature;
        PublicKey? key;
        try
        {
            key = keys is not null ? keys.Get(author, Key) : KeyOf(author, Key);
        }
        catch (P2pProtocolException)
        {
            return SignatureCheck.InvalidKey;
        }
        if (key is null)
            return SignatureCheck.InvalidKey;
        return key.Verify(SigningBytes(), Signature) ? SignatureCheck.Valid : SignatureCheck.InvalidSignature;
    }

    /// <summary>The author's key: the key field when it belongs to the author, else the one its id inlines; null when neither.</summary>
    internal static PublicKey? KeyOf(PeerId author, byte[]? keyField)
    {
        if (keyField is not null)
        {
            var key = PublicKey.FromProtobuf(keyField);
            return author.Matches(key) ? key : null;
        }
        return author.TryGetPublicKey();
    }

    internal static PubsubMessage Parse(ReadOnlySpan<byte> protobuf, RpcLimits limits)
    {
        byte[]? from = null, seqno = null, signature = null, key = null;
        byte[] data = [];
        string topic = "";
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1: from = reader.ReadBytes().ToArray(); break;
                case 2: data = reader.ReadBytes().ToArray(); break;
                case 3: seqno = reader.ReadBytes().ToArray(); break;
                case 4: topic = PubsubRpc.ReadTopic(ref reader, limits); break;
                case 5: signature = reader.ReadBytes().ToArray(); break;
                case 6: key = reader.ReadBytes().ToArray(); break;
                default: reader.Skip(); break;
            }
        }
        return new PubsubMessage { From = from, Data = data, Seqno = seqno, Topic = topic, Signature = signature, Key = key };
    }
}

/// <summary>The outcome of checking a message's signature under StrictSign.</summary>
public enum SignatureCheck
{
    Valid,
    /// <summary>No author, or bytes that are not a peer id.</summary>
    InvalidAuthor,
    /// <summary>No sequence number, or not 8 bytes.</summary>
    InvalidSequenceNumber,
    MissingSignature,
    /// <summary>The key field is malformed or another peer's, or the author's id inlines no key and none was sent.</summary>
    InvalidKey,
    InvalidSignature,
}

/// <summary>
/// Parsed author keys by peer id, so the copies of a message (one per mesh peer) and an author's later messages do not
/// parse its key again. Bounded: past <see cref="Capacity"/> it starts over.
/// </summary>
public sealed class AuthorKeyCache
{
    public const int Capacity = 4096;
    private readonly Dictionary<PeerId, PublicKey> _keys = [];
    private readonly Lock _gate = new();

    internal PublicKey? Get(PeerId author, byte[]? keyField)
    {
        lock (_gate)
        {
            if (_keys.TryGetValue(author, out var known))
                return known;
        }
        var key = PubsubMessage.KeyOf(author, keyField);
        if (key is null)
            return null;
        lock (_gate)
        {
            if (_keys.Count >= Capacity)
                _keys.Clear();
            _keys[author] = key;
        }
        return key;
    }
}
