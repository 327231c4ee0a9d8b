using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace QuDag.Network;

/// <summary>Finds a certificate's SubjectPublicKeyInfo in its DER, without re-decoding the certificate.</summary>
internal static class SubjectPublicKeyInfo
{
    // Slicing the DER costs about 1 µs; exporting through PublicKey costs about 150 µs (DESIGN.md).
    public static ReadOnlyMemory<byte> Slice(ReadOnlyMemory<byte> certificateDer)
    {
        var certificate = new AsnReader(certificateDer, AsnEncodingRules.DER).ReadSequence();
        var tbs = certificate.ReadSequence();
        var version = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
        if (tbs.PeekTag().HasSameClassAndValue(version))
            tbs.ReadEncodedValue();
        tbs.ReadEncodedValue(); // serialNumber
        tbs.ReadEncodedValue(); // signature algorithm
        tbs.ReadEncodedValue(); // issuer
        tbs.ReadEncodedValue(); // validity
        tbs.ReadEncodedValue(); // subject
        return tbs.ReadEncodedValue();
    }

    public static PeerId PeerIdOf(X509Certificate certificate)
    {
        var der = certificate is X509Certificate2 c2 ? c2.RawDataMemory : certificate.GetRawCertData();
        return PeerId.FromPublicKey(Slice(der).Span);
    }
}
