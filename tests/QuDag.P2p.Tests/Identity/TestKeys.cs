using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Tests.Identity;

/// <summary>Signers for the non-Ed25519 key types, made with the platform, as a remote go or rust node would sign.</summary>
internal static class TestKeys
{
    public static readonly ECCurve Secp256k1 = ECCurve.CreateFromOid(new Oid("1.3.132.0.10"));
    public static readonly BigInteger Secp256k1Order = BigInteger.Parse("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", System.Globalization.NumberStyles.HexNumber);

    /// <summary>The type and Data of a key protobuf.</summary>
    public static (ulong Type, byte[] Data) ReadKeyProtobuf(byte[] protobuf)
    {
        ulong type = ulong.MaxValue;
        byte[] data = [];
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            if (reader.FieldNumber == 1) type = reader.ReadVarint();
            else if (reader.FieldNumber == 2) data = reader.ReadBytes().ToArray();
            else reader.Skip();
        }
        return (type, data);
    }

    public static byte[] CompressedPoint(ECDsa key)
    {
        var q = key.ExportParameters(false).Q;
        var point = new byte[33];
        point[0] = (byte)((q.Y![^1] & 1) == 0 ? 0x02 : 0x03);
        q.X!.CopyTo(point, 1);
        return point;
    }

    /// <summary>A DER ECDSA signature over SHA-256 of <paramref name="data"/>, with s in the low or the high half.</summary>
    public static byte[] SignSecp256k1(ECDsa key, byte[] data, bool highS = false)
    {
        byte[] rs = key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var r = new BigInteger(rs.AsSpan(0, 32), isUnsigned: true, isBigEndian: true);
        var s = new BigInteger(rs.AsSpan(32), isUnsigned: true, isBigEndian: true);
        bool isHigh = s > Secp256k1Order / 2;
        if (isHigh != highS) s = Secp256k1Order - s;
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(r);
            writer.WriteInteger(s);
        }
        return writer.Encode();
    }
}
