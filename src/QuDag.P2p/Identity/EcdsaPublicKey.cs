using System.Security.Cryptography;

namespace QuDag.P2p.Identity;

/// <summary>
/// An ECDSA public key on NIST P-256 (peer-id spec; rust-libp2p supports only this curve): Data is the DER
/// SubjectPublicKeyInfo; signatures are DER-encoded ECDSA over SHA-256 of the message.
/// </summary>
public sealed class EcdsaPublicKey : PublicKey
{
    private const string P256Oid = "1.2.840.10045.3.1.7";

    private readonly byte[] _spki;
    private readonly ECDsa _ecdsa;

    public EcdsaPublicKey(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        var ecdsa = ECDsa.Create();
        try
        {
            SubjectPublicKeyInfo.Import(ecdsa, subjectPublicKeyInfo, "ECDSA", "EC");
            string? curve;
            try { curve = ecdsa.ExportParameters(false).Curve.Oid?.Value; }
            catch (Exception ex) when (ex is CryptographicException or PlatformNotSupportedException)
            {
                throw new P2pProtocolException("An ECDSA public key's curve cannot be read.", ex);
            }
            if (curve != P256Oid)
                throw new P2pProtocolException($"An ECDSA public key is on curve {curve ?? "(explicit parameters)"}; libp2p ECDSA keys are P-256 ({P256Oid}).");
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
        // Re-encoded, as go (x509.MarshalPKIXPublicKey) and rust do: the peer id hashes Data, so it must be
        // the canonical DER they hash, whatever equivalent encoding arrived.
        _spki = ecdsa.ExportSubjectPublicKeyInfo();
        _ecdsa = ecdsa;
    }

    public override KeyType Type => KeyType.Ecdsa;

    public override ReadOnlySpan<byte> Data => _spki;

    public override bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        // Strict DER (r, s) as go and rust write it; the platform checks the ranges.
        if (!EcdsaDerSignature.TryRead(signature, out _, out _)) return false;
        try { return _ecdsa.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence); }
        catch (CryptographicException) { return false; }
    }
}
