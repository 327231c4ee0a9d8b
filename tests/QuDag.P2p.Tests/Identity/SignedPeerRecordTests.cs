using QuDag.P2p.Identity;

namespace QuDag.P2p.Tests.Identity;

/// <summary>
/// Signed envelopes and peer records (RFC 0002, RFC 0003) against known answers made by js-libp2p 3.3
/// (@libp2p/peer-record's RecordEnvelope.seal over a PeerRecord, Ed25519 key from the seed 01..20): Ed25519 signatures
/// are deterministic, so sealing the same record with the same key must give js's bytes exactly.
/// </summary>
public sealed class SignedPeerRecordTests
{
    // js: generateKeyPairFromSeed('Ed25519', 01 02 .. 20); PeerRecord { /ip4/127.0.0.1/tcp/4001, /ip6/::1/tcp/4002; seq 1700000000000 }.
    private const string JsPeerId = "12D3KooWJ1TsijH7H5F74hfAD5XishQz3sxrmAtVY37GtNd9CqYf";
    private const string JsEnvelope =
        "0a240801122079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664120203011a530a2600240801122079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496641080d095ffbc311a0a0a08047f000001060fa11a160a142900000000000000000000000000000001060fa22a40167beb4afc0d055f1bd173d9aac21f605f9ec8fe4c937910f7cba941c4ed29aea4e47f909358b29cbe1fc50f01db6bf45c14dd2c27579d4f6aeb0e6ce349a70d";
    private const ulong JsSequence = 1_700_000_000_000;

    private static readonly Multiaddr[] s_addresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001"), Multiaddr.Parse("/ip6/::1/tcp/4002")];

    private static NodeIdentity JsKey() => NodeIdentity.FromEd25519Seed(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    [Fact]
    public void Sealing_the_js_record_with_the_same_key_gives_js_bytes()
    {
        using var key = JsKey();
        Assert.Equal(JsPeerId, key.PeerId.ToString());
        Assert.Equal(JsEnvelope, Convert.ToHexStringLower(SignedPeerRecord.Seal(key, JsSequence, s_addresses)));
    }

    [Fact]
    public void A_js_record_opens_to_its_peer_sequence_and_addresses()
    {
        var record = SignedPeerRecord.Open(Convert.FromHexString(JsEnvelope), PeerId.Parse(JsPeerId));
        Assert.Equal(PeerId.Parse(JsPeerId), record.PeerId);
        Assert.Equal(JsSequence, record.Sequence);
        Assert.Equal(s_addresses, record.Addresses);
    }

    [Fact]
    public void A_changed_byte_a_wrong_domain_another_signer_or_another_peer_is_refused()
    {
        byte[] envelope = Convert.FromHexString(JsEnvelope);

        // One bit of the payload (an address byte) flipped: the signature no longer covers it.
        var tampered = (byte[])envelope.Clone();
        tampered[^70] ^= 1;
        Assert.Throws<P2pProtocolException>(() => SignedPeerRecord.Open(tampered));
        Assert.Null(SignedPeerRecord.TryOpen(tampered));

        // The same payload signed for another use does not pass as a peer record.
        using var key = JsKey();
        var payload = SignedEnvelope.Open(envelope, SignedPeerRecord.Domain).Payload;
        var otherDomain = SignedEnvelope.Seal(key, "libp2p-something-else", SignedPeerRecord.PayloadType, payload).ToProtobuf();
        Assert.Contains("domain", Assert.Throws<P2pProtocolException>(() => SignedPeerRecord.Open(otherDomain)).Message);

        // A record naming js's peer but signed by another key: a middleman cannot vouch for someone else's addresses.
        using var other = NodeIdentity.Create();
        var forged = SignedEnvelope.Seal(other, SignedPeerRecord.Domain, SignedPeerRecord.PayloadType, payload).ToProtobuf();
        Assert.Contains("signed by", Assert.Throws<P2pProtocolException>(() => SignedPeerRecord.Open(forged)).Message);

        // A good record, where another peer's was expected (a PX entry naming one peer and carrying another's record).
        Assert.Throws<P2pProtocolException>(() => SignedPeerRecord.Open(envelope, other.PeerId));

        // Not a peer record at all (another payload type), and an envelope past the size bound.
        var otherType = SignedEnvelope.Seal(key, SignedPeerRecord.Domain, [0x03, 0x02], payload).ToProtobuf();
        Assert.Contains("payload type", Assert.Throws<P2pProtocolException>(() => SignedPeerRecord.Open(otherType)).Message);
        Assert.Throws<P2pProtocolException>(() => SignedPeerRecord.Open(new byte[SignedEnvelope.MaxSize + 1]));
    }

    [Fact]
    public void Our_own_record_round_trips_and_drops_a_p2p_suffix()
    {
        using var key = NodeIdentity.Create();
        var address = Multiaddr.Parse("/ip4/10.1.2.3/tcp/7000").WithPeerId(key.PeerId);
        var record = SignedPeerRecord.Open(SignedPeerRecord.Seal(key, 42, [address]), key.PeerId);
        Assert.Equal((key.PeerId, 42UL), (record.PeerId, record.Sequence));
        Assert.Equal([Multiaddr.Parse("/ip4/10.1.2.3/tcp/7000")], record.Addresses);
    }
}
