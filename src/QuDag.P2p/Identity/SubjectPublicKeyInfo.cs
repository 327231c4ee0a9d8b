using System.Security.Cryptography;

namespace QuDag.P2p.Identity;

/// <summary>Reads a remote key's DER SubjectPublicKeyInfo into a platform key, for the key types libp2p carries as SPKI.</summary>
internal static class SubjectPublicKeyInfo
{
    /// <summary>
    /// Imports <paramref name="spki"/> into <paramref name="key"/>; throws <see cref="P2pProtocolException"/> when it is
    /// not a DER SPKI of that kind of key or bytes follow it. <paramref name="name"/> and <paramref name="kind"/> word the error.
    /// </summary>
    public static void Import(AsymmetricAlgorithm key, ReadOnlySpan<byte> spki, string name, string kind)
    {
        int read;
        try { key.ImportSubjectPublicKeyInfo(spki, out read); }
        // OpenSSL refuses curves and parameters it does not know with PlatformNotSupportedException.
        catch (Exception ex) when (ex is CryptographicException or PlatformNotSupportedException)
        {
            throw new P2pProtocolException($"An {name} public key is not a DER SubjectPublicKeyInfo of an {kind} key.", ex);
        }
        if (read != spki.Length)
            throw new P2pProtocolException($"An {name} public key has {spki.Length - read} bytes after its SubjectPublicKeyInfo.");
    }
}
