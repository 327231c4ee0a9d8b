using System.Numerics;
using System.Security.Cryptography;

namespace QuDag.P2p.Identity;

/// <summary>
/// A secp256k1 public key (peer-id spec, Bitcoin encoding): Data is the 33-byte compressed SEC1 point (the
/// 65-byte uncompressed form is also read, as go and rust do, and re-encoded compressed); signatures are DER ECDSA over SHA-256 of
/// the message. As BIP-62 and rust-libp2p (k256) require, a signature with a high s is refused: it is the
/// malleated twin of a valid one. Verification is OpenSSL's (the curve by its OID 1.3.132.0.10); only the
/// point decompression, which the platform does not expose, is done here.
/// </summary>
public sealed class Secp256k1PublicKey : PublicKey
{
    private static readonly ECCurve Curve = ECCurve.CreateFromOid(new Oid("1.3.132.0.10"));

    // The field prime p = 2^256 - 2^32 - 977 and the group order n.
    private static readonly BigInteger P = BigInteger.Parse("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F", System.Globalization.NumberStyles.HexNumber);
    private static readonly BigInteger N = BigInteger.Parse("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", System.Globalization.NumberStyles.HexNumber);
    private static readonly BigInteger HalfN = N >> 1;

    private readonly byte[] _data;
    private readonly ECDsa _ecdsa;

    public Secp256k1PublicKey(ReadOnlySpan<byte> sec1Point)
    {
        (byte[] x, byte[] y) = Decode(sec1Point);
        ECDsa ecdsa;
        try
        {
            ecdsa = ECDsa.Create(new ECParameters { Curve = Curve, Q = new ECPoint { X = x, Y = y } });
        }
        catch (Exception ex) when (ex is CryptographicException or PlatformNotSupportedException)
        {
            throw new P2pProtocolException("A secp256k1 public key is not a point on the curve.", ex);
        }
        // Data is always the compressed point, as go (SerializeCompressed) and rust (to_bytes) re-encode a key
        // they read uncompressed: the peer id hashes Data, so it must be what they hash.
        _data = [(byte)((y[^1] & 1) == 0 ? 0x02 : 0x03), .. x];
        _ecdsa = ecdsa;
    }

    public override KeyType Type => KeyType.Secp256k1;

    public override ReadOnlySpan<byte> Data => _data;

    public override bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (!EcdsaDerSignature.TryRead(signature, out _, out BigInteger s) || s > HalfN) return false;
        try { return _ecdsa.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence); }
        catch (CryptographicException) { return false; }
    }

    private static (byte[] X, byte[] Y) Decode(ReadOnlySpan<byte> point)
    {
        switch (point.Length)
        {
            case 33 when point[0] is 0x02 or 0x03:
            {
                var x = new BigInteger(point[1..], isUnsigned: true, isBigEndian: true);
                if (x >= P) throw new P2pProtocolException("A secp256k1 public key's x is not below the field prime.");
                // y^2 = x^3 + 7; p = 3 (mod 4), so a square root is rhs^((p + 1) / 4).
                var rhs = (BigInteger.ModPow(x, 3, P) + 7) % P;
                var y = BigInteger.ModPow(rhs, (P + 1) >> 2, P);
                if (BigInteger.ModPow(y, 2, P) != rhs)
                    throw new P2pProtocolException("A secp256k1 public key is not a point on the curve.");
                if (!y.IsEven != (point[0] == 0x03)) y = P - y;
                return (point[1..].ToArray(), ToFixed(y));
            }
            case 65 when point[0] == 0x04:
                return (point[1..33].ToArray(), point[33..].ToArray());
            default:
                throw new P2pProtocolException($"A secp256k1 public key is a 33-byte compressed (or 65-byte uncompressed) SEC1 point, not {point.Length} bytes starting 0x{(point.IsEmpty ? 0 : point[0]):x2}.");
        }
    }

    private static byte[] ToFixed(BigInteger value)
    {
        var bytes = new byte[32];
        value.TryWriteBytes(bytes.AsSpan(32 - value.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        return bytes;
    }
}
