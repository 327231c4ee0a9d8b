using System.Security.Cryptography;

namespace QuDag.P2p.Identity;

/// <summary>
/// An RSA public key (peer-id spec): Data is the DER SubjectPublicKeyInfo; signatures are RSASSA-PKCS1-v1_5
/// over SHA-256. Like go-libp2p and rust-libp2p (ring) only 2048 to 8192-bit moduli are accepted: smaller
/// ones are forgeable, larger ones let a remote make every verification cost seconds.
/// </summary>
public sealed class RsaPublicKey : PublicKey
{
    public const int MinBits = 2048;
    public const int MaxBits = 8192;

    private readonly byte[] _spki;
    private readonly RSA _rsa;

    public RsaPublicKey(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        var rsa = RSA.Create();
        try
        {
            SubjectPublicKeyInfo.Import(rsa, subjectPublicKeyInfo, "RSA", "RSA");
            if (rsa.KeySize is < MinBits or > MaxBits)
                throw new P2pProtocolException($"An RSA public key of {rsa.KeySize} bits is refused: libp2p accepts {MinBits} to {MaxBits} bits.");
        }
        catch
        {
            rsa.Dispose();
            throw;
        }
        // Re-encoded, as go (x509.MarshalPKIXPublicKey) and rust do: the peer id hashes Data, so it must be
        // the canonical DER they hash, whatever equivalent encoding arrived.
        _spki = rsa.ExportSubjectPublicKeyInfo();
        _rsa = rsa;
    }

    /// <summary>The modulus size in bits.</summary>
    public int KeySize => _rsa.KeySize;

    public override KeyType Type => KeyType.Rsa;

    public override ReadOnlySpan<byte> Data => _spki;

    public override bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        // A PKCS#1 v1.5 signature is exactly the modulus' size; anything else is refused before the platform sees it.
        if (signature.Length != (_rsa.KeySize + 7) / 8) return false;
        try { return _rsa.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1); }
        catch (CryptographicException) { return false; }
    }
}
