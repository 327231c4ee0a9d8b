using NSec.Cryptography;

namespace QuDag.P2p.Identity;

/// <summary>An Ed25519 public key: 32 raw bytes; signatures are 64 bytes (RFC 8032), checked by libsodium.</summary>
/// <remarks>
/// One array per key, the protobuf encoding (<c>08 01 12 20</c> + the 32 bytes), of which <see cref="Data"/> is the tail:
/// every connection keeps its remote's key for its life, and the raw copy and libsodium's key object besides cost each
/// 112 B more. The libsodium key is made per verification instead (a 32-byte copy; a verification costs about 70 µs).
/// </remarks>
public sealed class Ed25519PublicKey : PublicKey
{
    private const int PrefixLength = 4; // the protobuf's type field and the data field's tag and length
    private readonly byte[] _protobuf;

    public Ed25519PublicKey(ReadOnlySpan<byte> raw)
        : this(Encode(raw))
    {
    }

    private Ed25519PublicKey(byte[] protobuf)
        : base(protobuf)
    {
        _protobuf = protobuf;
    }

    private static byte[] Encode(ReadOnlySpan<byte> raw)
    {
        if (raw.Length != 32)
            throw new P2pProtocolException($"An Ed25519 public key is 32 bytes, not {raw.Length}.");
        _ = Import(raw); // rejects what libsodium would not take, here rather than at the first verification
        byte[] protobuf = new byte[PrefixLength + 32];
        protobuf[0] = 0x08; // field 1 (type), varint
        protobuf[1] = (byte)KeyType.Ed25519;
        protobuf[2] = 0x12; // field 2 (data), length-delimited
        protobuf[3] = 32;
        raw.CopyTo(protobuf.AsSpan(PrefixLength));
        return protobuf;
    }

    private static NSec.Cryptography.PublicKey Import(ReadOnlySpan<byte> raw)
        => NSec.Cryptography.PublicKey.TryImport(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPublicKey, out var key) && key is not null
            ? key
            : throw new P2pProtocolException("The bytes are not a valid Ed25519 public key.");

    public override KeyType Type => KeyType.Ed25519;

    public override ReadOnlySpan<byte> Data => _protobuf.AsSpan(PrefixLength);

    public override bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
        => signature.Length == 64 && SignatureAlgorithm.Ed25519.Verify(Import(Data), data, signature);
}
