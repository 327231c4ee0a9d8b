using NSec.Cryptography;

namespace QuDag.P2p.Identity;

/// <summary>
/// This node's Ed25519 key pair: it signs the Noise static key and the TLS certificate extension, and its
/// public key's peer id is the node's <see cref="PeerId"/>. Ephemeral unless loaded from a key file.
/// </summary>
public sealed class NodeIdentity : IDisposable
{
    private readonly Key _key;

    private NodeIdentity(Key key)
    {
        _key = key;
        PublicKey = new Ed25519PublicKey(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
        PeerId = PeerId.FromPublicKey(PublicKey);
    }

    /// <summary>The public key, as remotes see it.</summary>
    public PublicKey PublicKey { get; }

    /// <summary>This node's peer id.</summary>
    public PeerId PeerId { get; }

    /// <summary>A new random identity.</summary>
    public static NodeIdentity Create() => new(Key.Create(SignatureAlgorithm.Ed25519, Exportable()));

    /// <summary>The identity whose Ed25519 private key is the 32-byte <paramref name="seed"/> (RFC 8032).</summary>
    public static NodeIdentity FromEd25519Seed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != 32)
            throw new ArgumentException($"An Ed25519 seed is 32 bytes, not {seed.Length}.", nameof(seed));
        return new(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, Exportable()));
    }

    private static KeyCreationParameters Exportable() => new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

    /// <summary>Signs <paramref name="data"/> with the node's key (a 64-byte Ed25519 signature).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) => SignatureAlgorithm.Ed25519.Sign(_key, data);

    /// <summary>The 32-byte private seed, for writing the key file.</summary>
    internal byte[] ExportSeed() => _key.Export(KeyBlobFormat.RawPrivateKey);

    public void Dispose() => _key.Dispose();
}
