using QuDag.P2p.Identity;
using static QuDag.P2p.Tests.Identity.PeerIdSpecVectors;

namespace QuDag.P2p.Tests.Identity;

public class PeerIdTextTests
{
    [Fact]
    public void A_CIDv1_and_base58_name_the_same_Ed25519_peer()
    {
        // A pair computed independently of this code (a Modality test of the spec's encoding).
        const string base58 = "12D3KooW9pte76rpnggcLYkFaawuTEs5DC5axHkg3cK3cewGxxHd";
        const string cid = "bafzaajaiaejcaabcornvmd5g5bolzmcr6smsje7owdd3xk7lojqydmthdt47iqmi";
        Assert.Equal(PeerId.Parse(base58), PeerId.Parse(cid));
        Assert.Equal(cid, PeerId.Parse(base58).ToCidString());
        Assert.Equal(base58, PeerId.Parse(cid).ToString());
    }

    [Fact]
    public void The_spec_CID_example_parses_to_a_SHA256_peer_id_and_writes_back_the_same()
    {
        const string cid = "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";
        var id = PeerId.Parse(cid);
        Assert.StartsWith("Qm", id.ToString());
        Assert.Equal(cid, id.ToCidString());
        Assert.Equal(id, PeerId.Parse(id.ToString()));
        Assert.Equal(id, PeerId.Parse(cid.ToUpperInvariant())); // multibase 'B'
    }

    [Fact]
    public void Every_key_type_round_trips_through_both_text_forms()
    {
        foreach (string hex in new[] { Ed25519Public, Secp256k1Public, EcdsaPublic, RsaPublic })
        {
            var id = PublicKey.FromProtobuf(Bytes(hex)).ToPeerId();
            Assert.Equal(id, PeerId.Parse(id.ToString()));
            Assert.Equal(id, PeerId.Parse(id.ToCidString()));
            Assert.StartsWith("bafz", id.ToCidString());
        }
    }

    [Fact]
    public void A_CIDv1_in_base58btc_multibase_is_read()
    {
        var id = PublicKey.FromProtobuf(Bytes(Ed25519Public)).ToPeerId();
        string z = "z" + QuDag.P2p.Encoding.Base58.Encode([0x01, 0x72, .. id.Bytes]);
        Assert.Equal(id, PeerId.Parse(z));
    }

    [Theory]
    [InlineData("bafybeigdyrzt5sggfqdgtbq2xkccyd5fsmjplq5gqvwj6f2xzzqazkheha", "0x70")] // a dag-pb CID, not libp2p-key
    [InlineData("xafzaajaiaejcaabcornvmd5g5bolzmcr6smsje7owdd3xk7lojqydmthdt47iqmi", "multibase")]
    [InlineData("bafzaajaiaejcaabcornvmd5g5bolzmcr6smsje7owdd3xk7lojqydmthdt47iqm", "base32")] // cut short
    public void A_CID_that_is_not_a_peer_id_is_refused_with_the_reason(string text, string expected)
    {
        Assert.False(PeerId.TryParse(text, out _, out string? error));
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Text_too_long_for_any_peer_id_is_refused_at_once()
    {
        // Base58 decoding is quadratic: before the length cap, 200 KB of 'z' after "Qm" took minutes.
        string text = "Qm" + new string('z', 200_000);
        Assert.False(PeerId.TryParse(text, out _, out string? error));
        Assert.Contains("at most 128 characters", error);
    }

    [Fact]
    public void Text_starting_with_Q_but_not_Qm_is_treated_as_a_CID_and_refused()
    {
        Assert.False(PeerId.TryParse("QnYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", out _, out string? error));
        Assert.Contains("multibase", error);
    }
}
