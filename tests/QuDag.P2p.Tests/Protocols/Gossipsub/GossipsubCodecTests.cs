using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Gossipsub;

namespace QuDag.P2p.Tests.Protocols.Gossipsub;

/// <summary>
/// The pubsub RPC codec, signing and message ids against known answers made by an independent implementation:
/// unmodified js-libp2p (@libp2p/gossipsub 17.1.1's RPC codec and msgIdFnStrictSign, @libp2p/crypto 5.1.23's Ed25519)
/// for the Ed25519 key whose seed is the bytes 0..31, topic "qudag/test", data "hello qudag", seqno 01..08.
/// </summary>
public sealed class GossipsubCodecTests
{
    private const string Author = "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB";
    private const string SignedBytes = "6c69627032702d7075627375623a0a2600240801122003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8120b68656c6c6f2071756461671a080102030405060708220a71756461672f74657374";
    private const string Signature = "2427459b2fe5e3ac022bad0acfda221ea5cb8de00f8f6c549b4f7614dca6141292f41ab397dbe29ff1c41e801627d25732843d808bc557895b52b391d12a340f";
    private const string JsMessageId = "0801122003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b80102030405060708";
    // js's RPC.encode of: subscriptions [{true, "qudag/test"}, {false, "old"}], the message above with its signature and
    // key, control { ihave [{"qudag/test", [010203, 04]}], iwant [[0909]], graft ["a"], prune [{"b", [author], 60}], idontwant [[07]] }.
    private const string JsRpc = "0a0e0801120a71756461672f746573740a07080012036f6c6412b3010a2600240801122003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8120b68656c6c6f2071756461671a080102030405060708220a71756461672f746573742a402427459b2fe5e3ac022bad0acfda221ea5cb8de00f8f6c549b4f7614dca6141292f41ab397dbe29ff1c41e801627d25732843d808bc557895b52b391d12a340f32240801122003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b81a570a140a0a71756461672f74657374120301020312010412040a0209091a030a0161222f0a016212280a2600240801122003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8183c2a030a0107";

    private static NodeIdentity Identity() => NodeIdentity.FromEd25519Seed(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());

    private static PubsubMessage Signed(NodeIdentity identity) =>
        PubsubMessage.Sign(identity, "qudag/test", System.Text.Encoding.UTF8.GetBytes("hello qudag"), 0x0102030405060708);

    [Fact]
    public void Signing_covers_the_prefix_and_the_message_without_signature_and_key_as_js_signs_it()
    {
        using var identity = Identity();
        Assert.Equal(Author, identity.PeerId.ToString());
        var message = Signed(identity);
        Assert.Equal(SignedBytes, Convert.ToHexStringLower(message.SigningBytes()));
        // Ed25519 signatures are deterministic: the same key signs the same bytes to the same signature.
        Assert.Equal(Signature, Convert.ToHexStringLower(message.Signature!));
        Assert.Null(message.Key); // rust leaves the key out when the peer id inlines it
        Assert.Equal(SignatureCheck.Valid, message.Validate());
    }

    [Fact]
    public void Js_rpc_decodes_field_by_field_and_its_message_verifies()
    {
        var rpc = PubsubRpc.Parse(Convert.FromHexString(JsRpc));
        Assert.Equal([new SubscriptionOption(true, "qudag/test"), new SubscriptionOption(false, "old")], rpc.Subscriptions);
        var message = Assert.Single(rpc.Messages);
        Assert.Equal("hello qudag", System.Text.Encoding.UTF8.GetString(message.Data));
        Assert.Equal(0x0102030405060708UL, message.SequenceNumber);
        Assert.Equal(Author, message.Author.ToString());
        Assert.NotNull(message.Key); // js always sends the key
        Assert.Equal(SignatureCheck.Valid, message.Validate());
        var control = rpc.Control!;
        var ihave = Assert.Single(control.IHave);
        Assert.Equal("qudag/test", ihave.Topic);
        Assert.Equal(["010203", "04"], ihave.MessageIds.Select(i => Convert.ToHexStringLower(i.Span)));
        Assert.Equal("0909", Convert.ToHexStringLower(Assert.Single(control.IWant).Span));
        Assert.Equal("a", Assert.Single(control.Graft));
        var prune = Assert.Single(control.Prune);
        Assert.Equal(("b", 60UL), (prune.Topic, prune.BackoffSeconds!.Value));
        Assert.Equal(Author, PeerId.FromBytes(Assert.Single(prune.Peers).PeerId!).ToString());
        Assert.Equal("07", Convert.ToHexStringLower(Assert.Single(control.IDontWant).Span));
        // And our encoder writes js's bytes back, field for field.
        Assert.Equal(JsRpc, Convert.ToHexStringLower(rpc.ToProtobuf()));
    }

    [Fact]
    public void Message_ids_are_rust_js_and_go_defaults()
    {
        using var identity = Identity();
        var message = Signed(identity);
        Assert.Equal(Author + "72623859790382856", MessageIdFunctions.Rust(message).ToString());
        // js takes the key protobuf: from the key field, else the one the author's id inlines (same bytes here).
        Assert.Equal(JsMessageId, Convert.ToHexStringLower(MessageIdFunctions.Js(message).Span));
        Assert.Equal(JsMessageId, Convert.ToHexStringLower(MessageIdFunctions.Js(PubsubRpc.Parse(Convert.FromHexString(JsRpc)).Messages[0]).Span));
        Assert.Equal(Convert.ToHexStringLower(identity.PeerId.Bytes) + "0102030405060708", Convert.ToHexStringLower(MessageIdFunctions.Go(message).Span));
    }

    public static TheoryData<string, SignatureCheck> Tampered() => new()
    {
        { "data", SignatureCheck.InvalidSignature },
        { "topic", SignatureCheck.InvalidSignature },
        { "seqno", SignatureCheck.InvalidSignature },
        { "short-seqno", SignatureCheck.InvalidSequenceNumber },
        { "no-signature", SignatureCheck.MissingSignature },
        { "no-author", SignatureCheck.InvalidAuthor },
        { "other-key", SignatureCheck.InvalidKey },
        { "bad-key", SignatureCheck.InvalidKey },
    };

    [Theory]
    [MemberData(nameof(Tampered))]
    public void A_tampered_message_fails_its_check(string change, SignatureCheck expected)
    {
        using var identity = Identity();
        using var other = NodeIdentity.Create();
        var message = Signed(identity);
        var tampered = change switch
        {
            "data" => message with { Data = System.Text.Encoding.UTF8.GetBytes("hello qudaG") },
            "topic" => message with { Topic = "qudag/other" },
            "seqno" => message with { Seqno = [1, 2, 3, 4, 5, 6, 7, 9] },
            "short-seqno" => message with { Seqno = [1, 2, 3] },
            "no-signature" => message with { Signature = null },
            "no-author" => message with { From = null },
            "other-key" => message with { Key = other.PublicKey.ToProtobuf() },
            "bad-key" => message with { Key = [0x08, 0x01, 0x12, 0x01, 0x00] },
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        };
        Assert.Equal(expected, tampered.Validate());
        Assert.Equal(expected, tampered.Validate(new AuthorKeyCache()));
    }

    [Fact]
    public void Limits_refuse_an_rpc_with_more_entries_than_allowed_before_keeping_them()
    {
        var ids = Enumerable.Range(0, 11).Select(i => new MessageId([(byte)i])).ToArray();
        var rpc = new PubsubRpc { Control = new ControlMessage { IHave = [new ControlIHave("t", ids)] } };
        var limits = RpcLimits.Default with { MaxMessageIds = 10 };
        Assert.Contains("more than 10", Assert.Throws<P2pProtocolException>(() => PubsubRpc.Parse(rpc.ToProtobuf(), limits)).Message);
        Assert.Equal(11, PubsubRpc.Parse(rpc.ToProtobuf()).Control!.IHave[0].MessageIds.Count);
        var long_topic = new PubsubRpc { Subscriptions = [new SubscriptionOption(true, new string('t', 1025))] };
        Assert.Throws<P2pProtocolException>(() => PubsubRpc.Parse(long_topic.ToProtobuf()));
        var bad_utf8 = new byte[] { 0x0a, 0x04, 0x12, 0x02, 0xc3, 0x28 };
        Assert.Throws<P2pProtocolException>(() => PubsubRpc.Parse(bad_utf8));
    }

    [Fact]
    public async Task Framing_refuses_an_oversized_length_before_reading_its_body()
    {
        var frame = GossipsubProtocol.Frame(new PubsubRpc { Subscriptions = [new SubscriptionOption(true, "qudag/test")] });
        var parsed = await GossipsubProtocol.ReadRpcAsync(new MemoryStream(frame), 1024, RpcLimits.Default, CancellationToken.None);
        Assert.Equal("qudag/test", parsed!.Subscriptions[0].Topic);
        Assert.Null(await GossipsubProtocol.ReadRpcAsync(new MemoryStream([]), 1024, RpcLimits.Default, CancellationToken.None));
        // A 4 GiB length with no body: refused on the prefix alone.
        var huge = new MemoryStream([0x80, 0x80, 0x80, 0x80, 0x10]);
        var error = await Assert.ThrowsAsync<P2pProtocolException>(() => GossipsubProtocol.ReadRpcAsync(huge, 1024, RpcLimits.Default, CancellationToken.None).AsTask());
        Assert.Contains("4294967296", error.Message);
        var truncated = new MemoryStream(frame[..^2]);
        await Assert.ThrowsAsync<P2pProtocolException>(() => GossipsubProtocol.ReadRpcAsync(truncated, 1024, RpcLimits.Default, CancellationToken.None).AsTask());
    }

    [Fact]
    public void Message_ids_print_as_text_when_printable_and_as_hex_otherwise()
    {
        Assert.Equal("12D3KooW1", new MessageId("12D3KooW1"u8.ToArray()).ToString());
        Assert.Equal("0001ff", new MessageId([0, 1, 255]).ToString());
        Assert.Equal(new MessageId([1, 2]), new MessageId([1, 2]));
        Assert.NotEqual(new MessageId([1, 2]), new MessageId([2, 1]));
    }
}
