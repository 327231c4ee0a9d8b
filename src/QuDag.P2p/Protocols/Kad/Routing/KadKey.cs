using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Kad.Routing;

/// <summary>
/// A point of the Kademlia keyspace: the SHA-256 of a key's bytes (a peer id's multihash, a record key, a provider
/// key), as the spec defines distance: <c>XOR(sha256(a), sha256(b))</c>. Held as four big-endian words, so XOR and
/// comparison are four operations each.
/// </summary>
public readonly struct KadKey : IEquatable<KadKey>
{
    private readonly ulong _w0, _w1, _w2, _w3;

    private KadKey(ulong w0, ulong w1, ulong w2, ulong w3) => (_w0, _w1, _w2, _w3) = (w0, w1, w2, w3);

    /// <summary>The point of <paramref name="key"/>: its SHA-256.</summary>
    public static KadKey FromBytes(ReadOnlySpan<byte> key)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(key, hash);
        return FromHash(hash);
    }

    /// <summary>The point of a peer: the SHA-256 of its id's multihash bytes.</summary>
    public static KadKey ForPeer(PeerId peer) => FromBytes(peer.Bytes);

    internal static KadKey FromHash(ReadOnlySpan<byte> hash) => new(
        BinaryPrimitives.ReadUInt64BigEndian(hash),
        BinaryPrimitives.ReadUInt64BigEndian(hash[8..]),
        BinaryPrimitives.ReadUInt64BigEndian(hash[16..]),
        BinaryPrimitives.ReadUInt64BigEndian(hash[24..]));

    /// <summary>The XOR distance to <paramref name="other"/>.</summary>
    public KadDistance DistanceTo(KadKey other) => new(_w0 ^ other._w0, _w1 ^ other._w1, _w2 ^ other._w2, _w3 ^ other._w3);

    /// <summary>How many leading bits this and <paramref name="other"/> share: 0..255, 256 when equal (the bucket index).</summary>
    public int CommonPrefixLength(KadKey other) => DistanceTo(other).LeadingZeroCount;

    /// <summary>The 32 bytes of the hash.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[32];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, _w0);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8), _w1);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(16), _w2);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(24), _w3);
        return bytes;
    }

    public bool Equals(KadKey other) => _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    public override bool Equals(object? obj) => obj is KadKey other && Equals(other);

    // Already a hash: its first word is as good a hash code as any.
    public override int GetHashCode() => (int)(_w0 ^ (_w0 >> 32));

    public static bool operator ==(KadKey left, KadKey right) => left.Equals(right);

    public static bool operator !=(KadKey left, KadKey right) => !left.Equals(right);

    public override string ToString() => Convert.ToHexStringLower(ToBytes());
}

/// <summary>An XOR distance between two <see cref="KadKey"/>s; compares as a 256-bit unsigned number.</summary>
public readonly struct KadDistance : IComparable<KadDistance>, IEquatable<KadDistance>
{
    private readonly ulong _w0, _w1, _w2, _w3;

    internal KadDistance(ulong w0, ulong w1, ulong w2, ulong w3) => (_w0, _w1, _w2, _w3) = (w0, w1, w2, w3);

    /// <summary>Leading zero bits: 256 for distance zero.</summary>
    public int LeadingZeroCount =>
        _w0 != 0 ? BitOperations.LeadingZeroCount(_w0)
        : _w1 != 0 ? 64 + BitOperations.LeadingZeroCount(_w1)
        : _w2 != 0 ? 128 + BitOperations.LeadingZeroCount(_w2)
        : _w3 != 0 ? 192 + BitOperations.LeadingZeroCount(_w3)
        : 256;

    public int CompareTo(KadDistance other) =>
        _w0 != other._w0 ? _w0.CompareTo(other._w0)
        : _w1 != other._w1 ? _w1.CompareTo(other._w1)
        : _w2 != other._w2 ? _w2.CompareTo(other._w2)
        : _w3.CompareTo(other._w3);

    public bool Equals(KadDistance other) => CompareTo(other) == 0;

    public override bool Equals(object? obj) => obj is KadDistance other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_w0, _w3);

    public static bool operator <(KadDistance left, KadDistance right) => left.CompareTo(right) < 0;

    public static bool operator >(KadDistance left, KadDistance right) => left.CompareTo(right) > 0;

    public static bool operator ==(KadDistance left, KadDistance right) => left.Equals(right);

    public static bool operator !=(KadDistance left, KadDistance right) => !left.Equals(right);
}
