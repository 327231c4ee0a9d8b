using System.Security.Cryptography;

namespace QuDag.Network.Tests;

public class PeerIdTests
{
    private const string Hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    [Fact]
    public void Parses_and_prints_64_hex_characters_and_a_16_character_short_form()
    {
        var id = PeerId.Parse(Hex.ToUpperInvariant());
        Assert.Equal(Hex, id.ToString());
        Assert.Equal("0011223344556677", id.Short);
        Assert.Equal(id.Short, id.ToString("s", null));
        Assert.Equal(id, PeerId.Parse(Hex));
        Assert.Equal(Convert.FromHexString(Hex), id.ToByteArray());
        Assert.Equal(id, new PeerId(id.ToByteArray()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")]
    [InlineData("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00")]
    public void Invalid_hex_gives_a_FormatException_that_quotes_the_text(string text)
    {
        var ex = Assert.Throws<FormatException>(() => PeerId.Parse(text));
        Assert.Contains($"'{text}'", ex.Message);
        Assert.False(PeerId.TryParse(text, out _));
    }

    [Fact]
    public void Different_ids_differ_and_order_consistently()
    {
        var a = PeerId.Parse(Hex);
        var b = PeerId.Parse("f" + Hex[1..]);
        Assert.NotEqual(a, b);
        Assert.True(a != b);
        Assert.True(a.CompareTo(b) < 0);
        Assert.Equal(-b.CompareTo(a), a.CompareTo(b));
    }

    [Fact]
    public void An_identitys_peer_id_is_the_sha256_of_its_subject_public_key_info()
    {
        using var identity = NodeIdentity.Create();
        var spki = identity.Certificate.PublicKey.ExportSubjectPublicKeyInfo();
        Assert.Equal(new PeerId(SHA256.HashData(spki)), identity.PeerId);
        using var other = NodeIdentity.Create();
        Assert.NotEqual(identity.PeerId, other.PeerId);
    }
}

public class NodeIdentityTests
{
    [Fact]
    public async Task A_saved_identity_loads_back_with_the_same_peer_id_and_still_authenticates()
    {
        var path = Path.Combine(Path.GetTempPath(), $"qudag-{Guid.NewGuid():N}.pfx");
        try
        {
            using (var identity = NodeIdentity.Create())
            {
                identity.Save(path, "s3cret");
                if (!OperatingSystem.IsWindows())
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
                using var loaded = NodeIdentity.Load(path, "s3cret");
                Assert.Equal(identity.PeerId, loaded.PeerId);
            }
            using var reloaded = NodeIdentity.Load(path, "s3cret");
            await using var node = await TestNode.StartAsync(new ConnectionManagerOptions { Identity = reloaded });
            await using var manager = new ConnectionManager(10);
            await manager.ConnectAsync(reloaded.PeerId, node.EndPoint);
            Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(reloaded.PeerId));

            Assert.Throws<InvalidDataException>(() => NodeIdentity.Load(path, "wrong"));
            File.WriteAllBytes(path, [1, 2, 3]);
            Assert.Throws<InvalidDataException>(() => NodeIdentity.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Throws<FileNotFoundException>(() => NodeIdentity.Load(path));
    }
}
