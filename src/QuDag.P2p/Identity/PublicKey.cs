using System.Buffers;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Identity;

/// <summary>
/// A libp2p public key: the protobuf <c>PublicKey { KeyType Type = 1; bytes Data = 2; }</c> whose bytes a
/// peer id hashes, and the one operation a remote key is needed for, verifying a signature.
/// </summary>
public abstract class PublicKey : IEquatable<PublicKey>
{
    private byte[]? _protobuf;

    protected PublicKey()
    {
    }

    /// <summary>A key that already holds its protobuf encoding (made once, shared with <see cref="ToProtobuf"/>).</summary>
    private protected PublicKey(byte[] protobuf) => _protobuf = protobuf;

    /// <summary>The key's type.</summary>
    public abstract KeyType Type { get; }

    /// <summary>The type-specific key bytes (the protobuf's Data field).</summary>
    public abstract ReadOnlySpan<byte> Data { get; }

    /// <summary>True when <paramref name="signature"/> is this key's signature of <paramref name="data"/>.</summary>
    public abstract bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature);

    /// <summary>The deterministic protobuf encoding (type, then data), which a peer id hashes.</summary>
    public byte[] ToProtobuf()
    {
        if (_protobuf is null)
        {
            var writer = new ArrayBufferWriter<byte>(Data.Length + 8);
            ProtoWriter.WriteVarintField(writer, 1, (ulong)Type);
            ProtoWriter.WriteBytesField(writer, 2, Data);
            _protobuf = writer.WrittenSpan.ToArray();
        }
        return _protobuf;
    }

    /// <summary>This key's peer id.</summary>
    public PeerId ToPeerId() => PeerId.FromPublicKey(this);

    /// <summary>
    /// Reads libp2p's key protobuf, public or private alike: <c>{ KeyType Type = 1; bytes Data = 2; }</c>, unknown
    /// fields skipped. Throws <see cref="P2pProtocolException"/> when the type or the data is missing.
    /// </summary>
    internal static ulong ReadKeyProtobuf(ReadOnlySpan<byte> protobuf, string kind, out ReadOnlySpan<byte> data)
    {
        ulong? type = null;
        data = default;
        bool hasData = false;
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1: type = reader.ReadVarint(); break;
                case 2: data = reader.ReadBytes(); hasData = true; break;
                default: reader.Skip(); break;
            }
        }
        if (type is null || !hasData)
            throw new P2pProtocolException($"A {kind} key protobuf lacks its type or data.");
        return type.Value;
    }

    /// <summary>Parses a key protobuf; throws <see cref="P2pProtocolException"/> for a malformed or unsupported key.</summary>
    public static PublicKey FromProtobuf(ReadOnlySpan<byte> protobuf)
    {
        ulong type = ReadKeyProtobuf(protobuf, "public", out var data);
        // Range-check before the cast: a cast alone would read type 2^32 + 1 as Ed25519.
        if (type > (ulong)KeyType.Ecdsa)
            throw new P2pProtocolException($"Unsupported key type {type}.");
        return Create((KeyType)type, data);
    }

    /// <summary>
    /// Makes a key of <paramref name="type"/> from its Data bytes (peer-id spec): Ed25519 raw 32 bytes, RSA and
    /// ECDSA (P-256) a DER SubjectPublicKeyInfo, secp256k1 a compressed SEC1 point. Throws
    /// <see cref="P2pProtocolException"/> for bytes that are not such a key.
    /// </summary>
    public static PublicKey Create(KeyType type, ReadOnlySpan<byte> data) => type switch
    {
        KeyType.Ed25519 => new Ed25519PublicKey(data),
        KeyType.Rsa => new RsaPublicKey(data),
        KeyType.Ecdsa => new EcdsaPublicKey(data),
        KeyType.Secp256k1 => new Secp256k1PublicKey(data),
        _ => throw new P2pProtocolException($"Unsupported key type {type}."),
    };

    public bool Equals(PublicKey? other)
        => other is not null && other.Type == Type && other.Data.SequenceEqual(Data);

    public override bool Equals(object? obj) => obj is PublicKey key && Equals(key);

    public override int GetHashCode() => HashCode.Combine(Type, Convert.ToHexString(Data.Length > 8 ? Data[^8..] : Data));

    public override string ToString() => $"{Type} {Convert.ToHexStringLower(Data)}";
}
