using System.Security.Cryptography;
using CsCheck;
using QuDag.P2p.Encoding;
using QuDag.P2p.Identity;
using static QuDag.P2p.Tests.Identity.PeerIdSpecVectors;

namespace QuDag.P2p.Tests.Identity;

public class PublicKeyTests
{
    private static readonly byte[] Message = "libp2p-tls-handshake:example"u8.ToArray();

    // ---- the peer-id spec's vectors ----

    [Fact]
    public void The_spec_Ed25519_private_key_gives_the_spec_public_key_and_a_12D3KooW_id()
    {
        using var identity = NodeIdentity.FromProtobuf(Bytes(Ed25519Private));
        Assert.Equal(Ed25519Public, Convert.ToHexStringLower(identity.PublicKey.ToProtobuf()));
        Assert.Equal(Ed25519Private, Convert.ToHexStringLower(identity.ToProtobuf()));
        Assert.StartsWith("12D3KooW", identity.PeerId.ToString());
        var key = PublicKey.FromProtobuf(Bytes(Ed25519Public));
        Assert.True(key.Verify(Message, identity.Sign(Message)));
    }

    [Fact]
    public void The_spec_secp256k1_private_key_gives_the_spec_public_key_which_verifies_its_signatures()
    {
        var (type, secret) = TestKeys.ReadKeyProtobuf(Bytes(Secp256k1Private));
        Assert.Equal((ulong)KeyType.Secp256k1, type);
        using var signer = ECDsa.Create(new ECParameters { Curve = TestKeys.Secp256k1, D = secret });
        var key = PublicKey.FromProtobuf(Bytes(Secp256k1Public));
        Assert.IsType<Secp256k1PublicKey>(key);
        Assert.Equal(TestKeys.CompressedPoint(signer), key.Data.ToArray());
        Assert.Equal(Secp256k1Public, Convert.ToHexStringLower(key.ToProtobuf()));
        Assert.True(key.Verify(Message, TestKeys.SignSecp256k1(signer, Message)));
        Assert.False(key.Verify("other"u8, TestKeys.SignSecp256k1(signer, Message)));
        // Its 37-byte protobuf is inlined: the "16Uiu2" ids of go and rust secp256k1 nodes.
        Assert.StartsWith("16Uiu2", key.ToPeerId().ToString());
        Assert.Equal(key, key.ToPeerId().TryGetPublicKey());
    }

    [Fact]
    public void The_spec_ECDSA_private_key_gives_the_spec_public_key_which_verifies_its_signatures()
    {
        var (type, der) = TestKeys.ReadKeyProtobuf(Bytes(EcdsaPrivate));
        Assert.Equal((ulong)KeyType.Ecdsa, type);
        using var signer = ECDsa.Create();
        signer.ImportECPrivateKey(der, out _);
        var key = PublicKey.FromProtobuf(Bytes(EcdsaPublic));
        Assert.IsType<EcdsaPublicKey>(key);
        Assert.Equal(signer.ExportSubjectPublicKeyInfo(), key.Data.ToArray());
        Assert.Equal(EcdsaPublic, Convert.ToHexStringLower(key.ToProtobuf()));
        byte[] signature = signer.SignData(Message, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        Assert.True(key.Verify(Message, signature));
        Assert.False(key.Verify("other"u8, signature));
        // 91 bytes of protobuf: hashed, so a "Qm" id.
        Assert.StartsWith("Qm", key.ToPeerId().ToString());
        Assert.Null(key.ToPeerId().TryGetPublicKey());
    }

    [Fact]
    public void The_spec_RSA_private_key_gives_the_spec_public_key_which_verifies_its_signatures()
    {
        var (type, pkcs1) = TestKeys.ReadKeyProtobuf(Bytes(RsaPrivate));
        Assert.Equal((ulong)KeyType.Rsa, type);
        using var signer = RSA.Create();
        signer.ImportRSAPrivateKey(pkcs1, out _);
        var key = Assert.IsType<RsaPublicKey>(PublicKey.FromProtobuf(Bytes(RsaPublic)));
        Assert.Equal(4096, key.KeySize);
        Assert.Equal(signer.ExportSubjectPublicKeyInfo(), key.Data.ToArray());
        Assert.Equal(RsaPublic, Convert.ToHexStringLower(key.ToProtobuf()));
        byte[] signature = signer.SignData(Message, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        Assert.True(key.Verify(Message, signature));
        Assert.False(key.Verify("other"u8, signature));
        Assert.False(key.Verify(Message, signer.SignData(Message, HashAlgorithmName.SHA256, RSASignaturePadding.Pss)));
        Assert.StartsWith("Qm", key.ToPeerId().ToString());
    }

    // ---- keys made here ----

    [Fact]
    public void A_2048_bit_RSA_key_verifies_PKCS1_SHA256_and_nothing_else()
    {
        using var rsa = RSA.Create(2048);
        var key = PublicKey.Create(KeyType.Rsa, rsa.ExportSubjectPublicKeyInfo());
        byte[] signature = rsa.SignData(Message, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        Assert.True(key.Verify(Message, signature));
        Assert.False(key.Verify(Message, rsa.SignData(Message, HashAlgorithmName.SHA512, RSASignaturePadding.Pkcs1)));
        signature[^1] ^= 1;
        Assert.False(key.Verify(Message, signature));
        Assert.False(key.Verify(Message, signature[..^1]));
        Assert.False(key.Verify(Message, []));
    }

    [Fact]
    public void An_RSA_key_under_2048_bits_is_refused_with_a_clear_reason()
    {
        using var rsa = RSA.Create(1024);
        var ex = Assert.Throws<P2pProtocolException>(() => PublicKey.Create(KeyType.Rsa, rsa.ExportSubjectPublicKeyInfo()));
        Assert.Contains("1024 bits", ex.Message);
        Assert.Contains("2048", ex.Message);
    }

    [Fact]
    public void An_RSA_key_must_be_a_whole_SubjectPublicKeyInfo_of_an_RSA_key()
    {
        using var rsa = RSA.Create(2048);
        Assert.Throws<P2pProtocolException>(() => PublicKey.Create(KeyType.Rsa, rsa.ExportRSAPublicKey())); // PKCS#1, not SPKI
        Assert.Throws<P2pProtocolException>(() => PublicKey.Create(KeyType.Rsa, [.. rsa.ExportSubjectPublicKeyInfo(), 0]));
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Throws<P2pProtocolException>(() => PublicKey.Create(KeyType.Rsa, ec.ExportSubjectPublicKeyInfo()));
    }

    [Fact]
    public void A_P256_ECDSA_key_verifies_DER_signatures_over_SHA256()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var key = PublicKey.Create(KeyType.Ecdsa, ec.ExportSubjectPublicKeyInfo());
        Assert.True(key.Verify(Message, ec.SignData(Message, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)));
        // The fixed-size r||s form is not the libp2p encoding.
        Assert.False(key.Verify(Message, ec.SignData(Message, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)));
        Assert.False(key.Verify(Message, ec.SignData(Message, HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence)));
        byte[] der = ec.SignData(Message, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        Assert.False(key.Verify(Message, [.. der, 0])); // trailing bytes
    }

    [Fact]
    public void An_ECDSA_key_on_another_curve_is_refused()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var ex = Assert.Throws<P2pProtocolException>(() => PublicKey.Create(KeyType.Ecdsa, ec.ExportSubjectPublicKeyInfo()));
        Assert.Contains("P-256", ex.Message);
        Assert.Throws<P2pProtocolException>(() => PublicKey.Create(KeyType.Ecdsa, [1, 2, 3]));
    }

    [Fact]
    public void A_secp256k1_key_verifies_low_s_DER_signatures_and_refuses_their_high_s_twins()
    {
        using var ec = ECDsa.Create(TestKeys.Secp256k1);
        var key = PublicKey.Create(KeyType.Secp256k1, TestKeys.CompressedPoint(ec));
        Assert.True(key.Verify(Message, TestKeys.SignSecp256k1(ec, Message)));
        Assert.False(key.Verify(Message, TestKeys.SignSecp256k1(ec, Message, highS: true)));
        Assert.False(key.Verify("other"u8, TestKeys.SignSecp256k1(ec, Message)));
    }

    [Fact]
    public void Both_compressed_parities_and_the_uncompressed_form_decode_to_the_same_point()
    {
        // Enough keys that both 02 and 03 prefixes occur (each is a coin flip).
        var prefixes = new HashSet<byte>();
        for (int i = 0; i < 16; i++)
        {
            using var ec = ECDsa.Create(TestKeys.Secp256k1);
            byte[] compressed = TestKeys.CompressedPoint(ec);
            prefixes.Add(compressed[0]);
            var q = ec.ExportParameters(false).Q;
            var fromCompressed = PublicKey.Create(KeyType.Secp256k1, compressed);
            var fromUncompressed = PublicKey.Create(KeyType.Secp256k1, [0x04, .. q.X!, .. q.Y!]);
            // Re-encoded compressed, as go and rust do, so all three agree on the peer id.
            Assert.Equal(compressed, fromUncompressed.Data.ToArray());
            Assert.Equal(fromCompressed.ToPeerId(), fromUncompressed.ToPeerId());
            byte[] signature = TestKeys.SignSecp256k1(ec, Message);
            Assert.True(fromCompressed.Verify(Message, signature));
            Assert.True(fromUncompressed.Verify(Message, signature));
        }
        Assert.Equal(2, prefixes.Count);
    }

    [Fact]
    public void A_secp256k1_point_off_the_curve_or_of_the_wrong_size_is_refused()
    {
        using var ec = ECDsa.Create(TestKeys.Secp256k1);
        byte[] compressed = TestKeys.CompressedPoint(ec);
        var q = ec.ExportParameters(false).Q;
        byte[] offCurve = [0x04, .. q.X!, .. q.Y!];
        offCurve[^1] ^= 1;
        Assert.Throws<P2pProtocolException>(() => PublicKey.Create(KeyType.Secp256k1, offCurve));
        Assert.Throws<P2pProtocolException>(() => PublicKey.Create(KeyType.Secp256k1, compressed[..32]));
        byte[] badPrefix = [.. compressed];
        badPrefix[0] = 0x05;
        Assert.Throws<P2pProtocolException>(() => PublicKey.Create(KeyType.Secp256k1, badPrefix));
        // x = p - 1 is at least in range; x >= p is not.
        byte[] tooBig = [0x02, .. Enumerable.Repeat((byte)0xff, 32)];
        Assert.Throws<P2pProtocolException>(() => PublicKey.Create(KeyType.Secp256k1, tooBig));
    }

    [Fact]
    public void A_compressed_x_with_no_point_on_the_curve_is_refused()
    {
        // About half of all x have no y; x = 5 is one: 5^3 + 7 = 132 is not a square mod p.
        byte[] point = new byte[33];
        point[0] = 0x02;
        point[^1] = 5;
        Assert.Throws<P2pProtocolException>(() => PublicKey.Create(KeyType.Secp256k1, point));
    }

    // ---- the protobuf ----

    [Fact]
    public void A_key_type_past_the_enum_is_refused_not_truncated_into_another_type()
    {
        // Type 2^32 + 1 (a 5-byte varint) used to be cast to (KeyType)1, Ed25519, and accepted.
        byte[] ed25519 = Bytes(Ed25519Public);
        byte[] protobuf = [0x08, 0x81, 0x80, 0x80, 0x80, 0x10, .. ed25519[2..]];
        var ex = Assert.Throws<P2pProtocolException>(() => PublicKey.FromProtobuf(protobuf));
        Assert.Contains("4294967297", ex.Message);
        Assert.Throws<P2pProtocolException>(() => PublicKey.FromProtobuf([0x08, 0x04, .. ed25519[2..]]));
    }

    [Fact]
    public void A_protobuf_without_type_or_data_is_refused()
    {
        Assert.Throws<P2pProtocolException>(() => PublicKey.FromProtobuf([]));
        Assert.Throws<P2pProtocolException>(() => PublicKey.FromProtobuf([0x08, 0x01]));
        Assert.Throws<P2pProtocolException>(() => PublicKey.FromProtobuf(Bytes(Ed25519Public)[2..]));
    }

    [Fact]
    public void Arbitrary_bytes_only_ever_raise_a_protocol_error()
        => Gen.Byte.Array[0, 120].Sample(bytes => DecoderEntryPoints.PublicKeyProtobuf(bytes));

    [Fact]
    public void Mutations_of_valid_protobufs_only_ever_raise_a_protocol_error()
    {
        byte[][] seeds = [Bytes(Ed25519Public), Bytes(Secp256k1Public), Bytes(EcdsaPublic), Bytes(RsaPublic)];
        Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Int[0, 1 << 20], Gen.Byte).Sample((which, at, value) =>
        {
            byte[] mutated = [.. seeds[which]];
            mutated[at % mutated.Length] = value;
            DecoderEntryPoints.PublicKeyProtobuf(mutated);
            DecoderEntryPoints.PublicKeyProtobuf(mutated.AsSpan(0, at % mutated.Length));
        }, iter: 300);
    }
}
