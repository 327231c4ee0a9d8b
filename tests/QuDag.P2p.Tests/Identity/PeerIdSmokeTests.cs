using QuDag.P2p.Identity;

namespace QuDag.P2p.Tests.Identity;

public class PeerIdSmokeTests
{
    [Fact]
    public void An_Ed25519_identity_has_a_12D3KooW_peer_id_that_round_trips_through_text()
    {
        using var identity = NodeIdentity.Create();
        string text = identity.PeerId.ToString();
        Assert.StartsWith("12D3KooW", text);
        Assert.Equal(identity.PeerId, PeerId.Parse(text));
        Assert.Equal(identity.PublicKey, PeerId.Parse(text).TryGetPublicKey());
    }

    [Fact]
    public void A_signature_verifies_with_the_public_key_and_fails_for_other_data()
    {
        using var identity = NodeIdentity.Create();
        byte[] signature = identity.Sign("hello"u8);
        Assert.True(identity.PublicKey.Verify("hello"u8, signature));
        Assert.False(identity.PublicKey.Verify("hellO"u8, signature));
    }

    [Fact]
    public void The_short_form_keeps_the_first_2_and_last_6_characters_as_go_libp2p_does()
    {
        var id = PeerId.Parse("12D3KooWBmwkafWE2fqfzS96VoTZxT5nQgwPzX4TBkoixS8Wn8fj");
        Assert.Equal("12*8Wn8fj", id.ToShortString());
        Assert.Equal("12*8Wn8fj", $"{id:S}");
    }

    [Fact]
    public void Equality_compares_the_bytes_whether_or_not_two_ids_share_an_array()
    {
        byte[] multihash = new byte[34];
        multihash[0] = 0x12;
        multihash[1] = 32;
        multihash[2] = 1;
        var id = PeerId.FromBytes(multihash);
        var copy = PeerId.FromBytes(id.Bytes);
        multihash[2] = 2; // same last 8 bytes, so the same hash code: only the byte compare tells them apart
        var other = PeerId.FromBytes(multihash);

        Assert.Equal(id, id);
        Assert.Equal(id, copy);
        Assert.Equal(id.GetHashCode(), other.GetHashCode());
        Assert.NotEqual(id, other);
        Assert.Equal(default(PeerId), default);
        Assert.NotEqual(default, id);
    }
}
