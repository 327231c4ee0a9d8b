using System.Formats.Asn1;
using System.Numerics;

namespace QuDag.P2p.Identity;

/// <summary>The DER <c>SEQUENCE { INTEGER r, INTEGER s }</c> of an ECDSA signature, read strictly (no trailing bytes, no BER).</summary>
internal static class EcdsaDerSignature
{
    /// <summary>A DER signature of a 256-bit curve is at most 72 bytes; anything longer is not one.</summary>
    private const int MaxLength = 72;

    public static bool TryRead(ReadOnlySpan<byte> der, out BigInteger r, out BigInteger s)
    {
        r = s = default;
        if (der.Length > MaxLength) return false;
        try
        {
            AsnDecoder.ReadSequence(der, AsnEncodingRules.DER, out int contentOffset, out int contentLength, out int consumed);
            if (consumed != der.Length) return false;
            var content = der.Slice(contentOffset, contentLength);
            r = AsnDecoder.ReadInteger(content, AsnEncodingRules.DER, out int rLength);
            s = AsnDecoder.ReadInteger(content[rLength..], AsnEncodingRules.DER, out int sLength);
            return rLength + sLength == content.Length && r.Sign > 0 && s.Sign > 0;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }
}
