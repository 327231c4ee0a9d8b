using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NSec.Cryptography;
using QuDag.P2p.Identity;
using PublicKey = QuDag.P2p.Identity.PublicKey;

namespace QuDag.P2p.Security.Tls;

/// <summary>
/// The certificate of libp2p TLS: self-signed by an ephemeral ECDSA P-256 key that says nothing by itself,
/// carrying the libp2p Public Key Extension in which the host key signs that certificate key. Verification
/// follows go-libp2p and js-libp2p: one certificate, valid now, self-signature valid, the extension present
/// and its signature valid for the certificate's SubjectPublicKeyInfo. The DER is read once with
/// <see cref="AsnReader"/> (slicing the SPKI costs about 1 µs; re-loading the certificate about 150).
/// </summary>
internal static class Libp2pCertificate
{
    public const string ExtensionOid = "1.3.6.1.4.1.53594.1.1";
    public static ReadOnlySpan<byte> SignaturePrefix => "libp2p-tls-handshake:"u8;

    /// <summary>
    /// A fresh certificate for <paramref name="identity"/> valid from an hour before <paramref name="now"/>
    /// (clock skew, as go and js allow) for <paramref name="lifetime"/>. The extension is the first and only
    /// one: js-libp2p reads the first extension.
    /// </summary>
    public static X509Certificate2 Create(NodeIdentity identity, DateTimeOffset now, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] signature = identity.Sign(SignedData(key.ExportSubjectPublicKeyInfo()));
        var subject = new X500DistinguishedNameBuilder();
        subject.Add("2.5.4.5", Convert.ToHexString(RandomNumberGenerator.GetBytes(8)), UniversalTagNumber.PrintableString);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension(new Oid(ExtensionOid), SignedKey.Encode(identity.PublicKey.ToProtobuf(), signature), critical: true));
        // The returned certificate holds its own reference to the key, so disposing ours is fine.
        return request.CreateSelfSigned(now.AddHours(-1), now + lifetime);
    }

    /// <summary>The bytes the host key signs: the prefix and the certificate's DER SubjectPublicKeyInfo.</summary>
    public static byte[] SignedData(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        var data = new byte[SignaturePrefix.Length + subjectPublicKeyInfo.Length];
        SignaturePrefix.CopyTo(data);
        subjectPublicKeyInfo.CopyTo(data.AsSpan(SignaturePrefix.Length));
        return data;
    }

    /// <summary>Verifies a remote certificate and returns the host key it proves; throws <see cref="P2pProtocolException"/>.</summary>
    public static PublicKey Verify(ReadOnlyMemory<byte> der, DateTimeOffset now)
    {
        var parts = Parse(der);
        if (now < parts.NotBefore)
            throw new P2pProtocolException($"The remote's certificate is not valid before {parts.NotBefore:u}.");
        if (now > parts.NotAfter)
            throw new P2pProtocolException($"The remote's certificate expired at {parts.NotAfter:u}.");
        if (parts.Extension is not { } extension)
            throw new P2pProtocolException("The remote's certificate lacks the libp2p public key extension.");
        VerifySelfSignature(parts);
        var (keyProtobuf, signature) = SignedKey.Decode(extension);
        try
        {
            var key = PublicKey.FromProtobuf(keyProtobuf);
            if (!key.Verify(SignedData(parts.SubjectPublicKeyInfo.Span), signature))
                throw new P2pProtocolException("The libp2p extension's signature does not match the certificate's key.");
            return key;
        }
        catch (CryptographicException ex)
        {
            throw new P2pProtocolException("The libp2p extension's host key cannot be used.", ex);
        }
    }

    internal sealed record Parts(
        ReadOnlyMemory<byte> Tbs, string SignatureAlgorithm, byte[] Signature, DateTimeOffset NotBefore, DateTimeOffset NotAfter,
        ReadOnlyMemory<byte> SubjectPublicKeyInfo, ReadOnlyMemory<byte>? Extension);

    /// <summary>Reads what verification needs from an X.509 certificate (RFC 5280 section 4.1).</summary>
    internal static Parts Parse(ReadOnlyMemory<byte> der)
    {
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.DER);
            var certificate = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            var tbsRaw = certificate.ReadEncodedValue();
            var algorithm = certificate.ReadSequence();
            string signatureAlgorithm = algorithm.ReadObjectIdentifier();
            byte[] signature = certificate.ReadBitString(out int unusedBits);
            certificate.ThrowIfNotEmpty();
            if (unusedBits != 0)
                throw new P2pProtocolException("The certificate's signature is not a whole number of bytes.");

            var tbs = new AsnReader(tbsRaw, AsnEncodingRules.DER).ReadSequence();
            if (tbs.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
                tbs.ReadEncodedValue(); // version
            tbs.ReadIntegerBytes();     // serial number
            tbs.ReadEncodedValue();     // signature algorithm (the outer one is what we check)
            tbs.ReadEncodedValue();     // issuer
            var validity = tbs.ReadSequence();
            var notBefore = ReadTime(validity);
            var notAfter = ReadTime(validity);
            validity.ThrowIfNotEmpty();
            tbs.ReadEncodedValue();     // subject
            var spki = tbs.ReadEncodedValue();
            ReadOnlyMemory<byte>? extension = null;
            var extensionsTag = new Asn1Tag(TagClass.ContextSpecific, 3);
            while (tbs.HasData)
            {
                if (!tbs.PeekTag().HasSameClassAndValue(extensionsTag))
                {
                    tbs.ReadEncodedValue(); // issuer/subject unique ids
                    continue;
                }
                var extensions = tbs.ReadSequence(extensionsTag).ReadSequence();
                while (extensions.HasData)
                {
                    var entry = extensions.ReadSequence();
                    string oid = entry.ReadObjectIdentifier();
                    if (entry.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean))
                        entry.ReadBoolean();
                    var value = entry.ReadOctetString();
                    entry.ThrowIfNotEmpty();
                    // Unknown extensions are ignored, as the spec asks; ours must appear once.
                    if (oid != ExtensionOid) continue;
                    if (extension is not null)
                        throw new P2pProtocolException("The certificate carries the libp2p extension twice.");
                    extension = value;
                }
            }
            return new Parts(tbsRaw, signatureAlgorithm, signature, notBefore, notAfter, spki, extension);
        }
        catch (AsnContentException ex)
        {
            throw new P2pProtocolException("The remote's certificate is not valid DER X.509.", ex);
        }
    }

    private static DateTimeOffset ReadTime(AsnReader reader)
        => reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();

    /// <summary>Checks the certificate's own signature with the key in its SubjectPublicKeyInfo.</summary>
    private static void VerifySelfSignature(Parts parts)
    {
        bool valid;
        try
        {
            valid = parts.SignatureAlgorithm switch
            {
                "1.2.840.10045.4.3.2" => VerifyEcdsa(parts, HashAlgorithmName.SHA256),
                "1.2.840.10045.4.3.3" => VerifyEcdsa(parts, HashAlgorithmName.SHA384),
                "1.2.840.10045.4.3.4" => VerifyEcdsa(parts, HashAlgorithmName.SHA512),
                "1.2.840.113549.1.1.11" => VerifyRsa(parts, HashAlgorithmName.SHA256),
                "1.2.840.113549.1.1.12" => VerifyRsa(parts, HashAlgorithmName.SHA384),
                "1.2.840.113549.1.1.13" => VerifyRsa(parts, HashAlgorithmName.SHA512),
                "1.3.101.112" => VerifyEd25519(parts),
                _ => throw new P2pProtocolException($"The certificate's signature algorithm {parts.SignatureAlgorithm} is not supported."),
            };
        }
        catch (Exception ex) when (ex is CryptographicException or PlatformNotSupportedException or ArgumentException)
        {
            // An SPKI naming an unknown curve surfaces as PlatformNotSupportedException (found by the property test).
            throw new P2pProtocolException("The certificate's key cannot check its own signature.", ex);
        }
        if (!valid)
            throw new P2pProtocolException("The certificate's self-signature is invalid.");
    }

    private static bool VerifyEcdsa(Parts parts, HashAlgorithmName hash)
    {
        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(parts.SubjectPublicKeyInfo.Span, out _);
        return key.VerifyData(parts.Tbs.Span, parts.Signature, hash, DSASignatureFormat.Rfc3279DerSequence);
    }

    private static bool VerifyRsa(Parts parts, HashAlgorithmName hash)
    {
        using var key = RSA.Create();
        key.ImportSubjectPublicKeyInfo(parts.SubjectPublicKeyInfo.Span, out _);
        return key.VerifyData(parts.Tbs.Span, parts.Signature, hash, RSASignaturePadding.Pkcs1);
    }

    private static bool VerifyEd25519(Parts parts)
        => NSec.Cryptography.PublicKey.TryImport(SignatureAlgorithm.Ed25519, parts.SubjectPublicKeyInfo.Span, KeyBlobFormat.PkixPublicKey, out var key)
           && key is not null
           && SignatureAlgorithm.Ed25519.Verify(key, parts.Tbs.Span, parts.Signature);
}
