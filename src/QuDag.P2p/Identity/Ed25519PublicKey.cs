using NSec.Cryptography;

namespace QuDag.P2p.Identity;

/// <summary>An Ed25519 public key: 32 raw bytes; signatures are 64 bytes (RFC 8032), checked by libsodium.</summary>
public sealed class Ed25519PublicKey : PublicKey
{
    private readonly byte[] _raw;
    private readonly NSec.Cryptography.PublicKey _key;

    public Ed25519PublicKey(ReadOnlySpan<byte> raw)
    {
        if (raw.Length != 32)
            throw new P2pProtocolException($"An Ed25519 public key is 32 bytes, not {raw.Length}.");
        if (!NSec.Cryptography.PublicKey.TryImport(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPublicKey, out var key) || key is null)
            throw new P2pProtocolException("The bytes are not a valid Ed25519 public key.");
        _raw = raw.ToArray();
        _key = key;
    }

    public override KeyType Type => KeyType.Ed25519;

    public override ReadOnlySpan<byte> Data => _raw;

    public override bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
        => signature.Length == 64 && SignatureAlgorithm.Ed25519.Verify(_key, data, signature);
}
