using CsCheck;
using QuDag.P2p.Encoding;
using QuDag.P2p.Identity;
using static QuDag.P2p.Tests.Identity.PeerIdSpecVectors;

namespace QuDag.P2p.Tests.Identity;

public sealed class NodeIdentityFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("qudag-identity-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    [Fact]
    public void The_protobuf_is_what_rust_libp2p_writes_type_Ed25519_then_seed_and_public_key()
    {
        byte[] seed = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        using var identity = NodeIdentity.FromEd25519Seed(seed);
        byte[] protobuf = identity.ToProtobuf();
        Assert.Equal(68, protobuf.Length);
        Assert.Equal(Convert.FromHexString("08011240"), protobuf[..4]);
        Assert.Equal(seed, protobuf[4..36]);
        Assert.Equal(identity.PublicKey.Data.ToArray(), protobuf[36..]);
        using var again = NodeIdentity.FromProtobuf(protobuf);
        Assert.Equal(identity.PeerId, again.PeerId);
    }

    [Fact]
    public void The_legacy_96_byte_form_is_read_when_its_two_public_keys_agree()
    {
        byte[] spec = Bytes(Ed25519Private);
        byte[] data = spec[4..];
        byte[] legacy = [0x08, 0x01, 0x12, 0x60, .. data, .. data[32..]];
        using var identity = NodeIdentity.FromProtobuf(legacy);
        Assert.Equal(spec, identity.ToProtobuf());
        byte[] mismatched = [.. legacy];
        mismatched[^1] ^= 1;
        Assert.Throws<P2pProtocolException>(() => NodeIdentity.FromProtobuf(mismatched));
    }

    [Fact]
    public void Save_then_Load_gives_the_same_identity_in_an_owner_only_file()
    {
        string path = PathOf("node.key");
        using var identity = NodeIdentity.Create();
        identity.Save(path);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var loaded = NodeIdentity.Load(path);
        Assert.Equal(identity.PeerId, loaded.PeerId);
        Assert.True(loaded.PublicKey.Verify("x"u8, identity.Sign("x"u8)));
        Assert.Single(Directory.GetFiles(_folder)); // no temporary file left behind
    }

    [Fact]
    public void Save_replaces_an_existing_world_readable_file_with_an_owner_only_one()
    {
        if (OperatingSystem.IsWindows()) return; // Unix file modes only
        string path = PathOf("node.key");
        File.WriteAllBytes(path, [1, 2, 3]);
        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100); // 0644
        using var identity = NodeIdentity.Create();
        identity.Save(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var loaded = NodeIdentity.Load(path);
        Assert.Equal(identity.PeerId, loaded.PeerId);
    }

    [Fact]
    public void Load_reads_the_spec_vector_written_as_a_file()
    {
        string path = PathOf("spec.key");
        File.WriteAllBytes(path, Bytes(Ed25519Private));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var identity = NodeIdentity.Load(path);
        Assert.Equal(Ed25519Public, Convert.ToHexStringLower(identity.PublicKey.ToProtobuf()));
    }

    [Fact]
    public void Load_refuses_a_group_or_world_readable_file_and_says_how_to_fix_it()
    {
        if (OperatingSystem.IsWindows()) return; // Unix file modes only
        string path = PathOf("open.key");
        using var identity = NodeIdentity.Create();
        identity.Save(path);
        foreach (var mode in new[] { (UnixFileMode)0b110_100_000, (UnixFileMode)0b110_000_100, (UnixFileMode)0b110_110_110 })
        {
            File.SetUnixFileMode(path, mode);
            var ex = Assert.Throws<InvalidIdentityFileException>(() => NodeIdentity.Load(path));
            Assert.Contains($"chmod 600 {path}", ex.Message);
            Assert.Equal(path, ex.Path);
            using var allowed = NodeIdentity.Load(path, allowInsecurePermissions: true);
            Assert.Equal(identity.PeerId, allowed.PeerId);
        }
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("0a0b0c", "not a libp2p Ed25519 private key")]     // not a protobuf of ours
    [InlineData("08011203010203", "64 bytes")]                   // Ed25519 with 3 bytes of data
    [InlineData("0802122053dadf1d5a164d6b4acdb15e24aa4c5b1d3461bdbd42abedb0a4404d56ced8fb", "Secp256k1")] // the spec's secp256k1 key
    [InlineData("0801", "lacks")]
    public void Load_refuses_a_file_that_is_not_an_Ed25519_key_and_says_why(string hex, string expected)
    {
        string path = PathOf("bad.key");
        File.WriteAllBytes(path, Convert.FromHexString(hex));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var ex = Assert.Throws<InvalidIdentityFileException>(() => NodeIdentity.Load(path));
        Assert.Contains(expected, ex.Message);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Load_refuses_a_key_whose_public_half_does_not_match_its_seed()
    {
        byte[] protobuf = Bytes(Ed25519Private);
        protobuf[^1] ^= 1;
        string path = PathOf("mismatch.key");
        File.WriteAllBytes(path, protobuf);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var ex = Assert.Throws<InvalidIdentityFileException>(() => NodeIdentity.Load(path));
        Assert.Contains("public half does not belong to its seed", ex.Message);
    }

    [Fact]
    public void Load_of_a_missing_file_is_a_typed_error_naming_it()
    {
        string path = PathOf("missing.key");
        var ex = Assert.Throws<InvalidIdentityFileException>(() => NodeIdentity.Load(path));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Arbitrary_bytes_only_ever_raise_a_protocol_error()
        => Gen.Byte.Array[0, 120].Sample(bytes => DecoderEntryPoints.PrivateKeyProtobuf(bytes));

    [Fact]
    public void Mutations_of_a_valid_key_only_ever_raise_a_protocol_error()
    {
        byte[] valid = Bytes(Ed25519Private);
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte).Sample((at, value) =>
        {
            byte[] mutated = [.. valid];
            mutated[at] = value;
            DecoderEntryPoints.PrivateKeyProtobuf(mutated);
            DecoderEntryPoints.PrivateKeyProtobuf(mutated.AsSpan(0, at));
        });
    }
}
