using System.Formats.Asn1;

namespace QuDag.P2p.Security.Tls;

/// <summary>
/// The value of the libp2p Public Key Extension (libp2p TLS spec):
/// <code>SignedKey ::= SEQUENCE { publicKey OCTET STRING, signature OCTET STRING }</code>
/// publicKey is the libp2p PublicKey protobuf; signature is the host key's signature over
/// "libp2p-tls-handshake:" + the certificate's DER SubjectPublicKeyInfo. (go-libp2p and js-libp2p encode both
/// fields as OCTET STRINGs; the spec's BIT STRING was never implemented.)
/// </summary>
internal static class SignedKey
{
    /// <summary>Far above any key protobuf or signature (RSA-4096 is about 550 bytes); longer is hostile.</summary>
    public const int MaxFieldLength = 8 * 1024;

    public static byte[] Encode(ReadOnlySpan<byte> publicKeyProtobuf, ReadOnlySpan<byte> signature)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteOctetString(publicKeyProtobuf);
            writer.WriteOctetString(signature);
        }
        return writer.Encode();
    }

    /// <summary>Reads a SignedKey; anything else is a <see cref="P2pProtocolException"/>.</summary>
    public static (byte[] PublicKey, byte[] Signature) Decode(ReadOnlyMemory<byte> der)
    {
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.DER);
            var sequence = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            byte[] key = ReadField(sequence, "public key");
            byte[] signature = ReadField(sequence, "signature");
            // A later revision may append fields (go-libp2p forks add an optional one); ignore them.
            return (key, signature);
        }
        catch (AsnContentException ex)
        {
            throw new P2pProtocolException("The libp2p certificate extension is not a DER SignedKey.", ex);
        }
    }

    private static byte[] ReadField(AsnReader sequence, string name)
    {
        if (!sequence.TryReadPrimitiveOctetString(out var value))
            throw new P2pProtocolException($"The SignedKey {name} is not a primitive OCTET STRING.");
        if (value.Length is 0 or > MaxFieldLength)
            throw new P2pProtocolException($"The SignedKey {name} is {value.Length} bytes long.");
        return value.ToArray();
    }
}
