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
}
