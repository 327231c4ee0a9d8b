using System.Buffers.Binary;
using System.Globalization;

using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// A gossipsub message id: opaque bytes that IHAVE, IWANT and IDONTWANT name messages by, and the key of the seen
/// cache and the message cache. A value type with its hash computed once, since every received copy is looked up.
/// </summary>
public readonly struct MessageId : IEquatable<MessageId>
{
    private readonly byte[]? _bytes;
    private readonly int _hash;

    public MessageId(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        _bytes = bytes;
        var hash = new HashCode();
        hash.AddBytes(bytes);
        _hash = hash.ToHashCode();
    }

    /// <summary>The id's bytes.</summary>
    public ReadOnlySpan<byte> Span => _bytes;

    /// <summary>The id's bytes as an array (shared: do not change it).</summary>
    public byte[] Bytes => _bytes ?? [];

    public int Length => _bytes?.Length ?? 0;

    public bool Equals(MessageId other) => _hash == other._hash && Span.SequenceEqual(other.Span);

    public override bool Equals(object? obj) => obj is MessageId other && Equals(other);

    public override int GetHashCode() => _hash;

    public static bool operator ==(MessageId left, MessageId right) => left.Equals(right);

    public static bool operator !=(MessageId left, MessageId right) => !left.Equals(right);

    /// <summary>The id as text: as is when it is printable ASCII (rust's default id is), else lowercase hex.</summary>
    public override string ToString()
    {
        var bytes = Span;
        foreach (byte b in bytes)
        {
            if (b is < 0x21 or > 0x7e)
                return Convert.ToHexStringLower(bytes);
        }
        return System.Text.Encoding.ASCII.GetString(bytes);
    }
}

/// <summary>
/// How a message's id is made from it. Ids only have to agree within one mesh, since IHAVE and IWANT name messages
/// by them, and the three libp2p implementations disagree on the default: pick the one the network runs.
/// </summary>
public delegate MessageId MessageIdFunction(PubsubMessage message);

/// <summary>The default message ids of rust-libp2p (QuDAG's), js-libp2p and go-libp2p: each the author and the sequence number.</summary>
public static class MessageIdFunctions
{
    /// <summary>
    /// rust-libp2p's default (QuDAG's nodes use it): the author's base58 peer id followed by the sequence number in
    /// decimal, as ASCII ("12D3KooW...1733000000000000000").
    /// </summary>
    public static readonly MessageIdFunction Rust = static message =>
    {
        string source = message.From is { } from && PeerId.TryFromBytes(from, out var peer, out _) ? peer.ToString() : "1111"; // rust: PeerId::from_bytes(&[0, 1, 0])
        ulong seqno = message.SequenceNumber ?? 0;
        return new MessageId(System.Text.Encoding.ASCII.GetBytes(source + seqno.ToString(CultureInfo.InvariantCulture)));
    };

    /// <summary>
    /// js-libp2p's default (msgIdFnStrictSign): the author's public-key protobuf followed by the 8-byte big-endian
    /// sequence number. The key is the message's key field, else the one inlined in the author's peer id.
    /// </summary>
    public static readonly MessageIdFunction Js = static message =>
    {
        byte[] key = message.Key ?? InlinedKey(message.From);
        byte[] id = new byte[key.Length + 8];
        key.CopyTo(id, 0);
        BinaryPrimitives.WriteUInt64BigEndian(id.AsSpan(key.Length), message.SequenceNumber ?? 0);
        return new MessageId(id);
    };

    /// <summary>go-libp2p's default: the author's binary peer id followed by the raw sequence number bytes.</summary>
    public static readonly MessageIdFunction Go = static message =>
        new MessageId([.. message.From ?? [], .. message.Seqno ?? []]);

    private static byte[] InlinedKey(byte[]? from)
    {
        // An identity multihash (0x00, length, key protobuf) carries the key; a hashed one does not.
        if (from is { Length: > 2 } && from[0] == 0 && from[1] == from.Length - 2)
            return from[2..];
        return [];
    }

    /// <summary>The function named <paramref name="name"/> ("rust", "js" or "go", any case).</summary>
    public static MessageIdFunction Named(string name) => name.ToLowerInvariant() switch
    {
        "rust" => Rust,
        "js" => Js,
        "go" => Go,
        _ => throw new ArgumentException($"Unknown message id function '{name}': use rust, js or go.", nameof(name)),
    };
}
