
using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Kad;
using QuDag.P2p.Tests.Support;

namespace QuDag.P2p.Tests.Protocols;

/// <summary>
/// The Kademlia messages and their framing. The hex vectors were written by js-libp2p's own encoder
/// (@libp2p/kad-dht 16.4.5's protons codec and @libp2p/record), so our codec is checked against another implementation,
/// not against itself.
/// </summary>
public class KadWireTests
{
    private static readonly PeerId Peer = PeerId.Parse("12D3KooWGNwqpRycvzoyNjk1FXpmpj129fh9NkDPfs9wgGidnGSq");

    // js: Message.encode({ type: FIND_NODE, key: peer.toMultihash().bytes })
    private const string JsFindNodeRequest = "08041226002408011220617ec84c3f82ef5f5246b6751cd3a8ccd3514b498eddc42e768cd881a8f4c61e";

    // js: a FIND_NODE response, clusterLevel 0, one closer peer (the same id) at /ip4/127.0.0.1/tcp/4001 and /ip6/::1/tcp/4002, CONNECTED.
    private const string JsFindNodeResponse = "08045000424a0a26002408011220617ec84c3f82ef5f5246b6751cd3a8ccd3514b498eddc42e768cd881a8f4c61e"
        + "1208047f000001060fa112142900000000000000000000000000000001060fa21801";

    // js: new Libp2pRecord('/test/key', 'hello', 2026-11-27T10:00:00Z).serialize()
    private const string JsRecord = "0a092f746573742f6b6579120568656c6c6f2a1e323032362d31312d32375431303a30303a30302e3030303030303030305a";

    // js: a PUT_VALUE message (type 0, so js leaves the field out) with that record.
    private const string JsPutValue = "12092f746573742f6b65791a32" + JsRecord;

    [Fact]
    public void A_find_node_request_encodes_as_js_encodes_it()
    {
        Assert.Equal(JsFindNodeRequest, Convert.ToHexStringLower(KadMessage.FindNode(Peer.Bytes).ToProtobuf()));
    }

    [Fact]
    public void A_js_find_node_response_decodes_with_its_peer_addresses_and_connection_type()
    {
        var message = KadMessage.Parse(Convert.FromHexString(JsFindNodeResponse));
        Assert.Equal(KadMessageType.FindNode, message.Type);
        var peer = Assert.Single(message.CloserPeers);
        Assert.Equal(Peer, peer.Id);
        Assert.Equal(KadConnectionType.Connected, peer.Connection);
        Assert.Equal(["/ip4/127.0.0.1/tcp/4001", "/ip6/::1/tcp/4002"], peer.Addresses.Select(a => a.ToString()));
        Assert.Equal(0, message.DroppedPeers);
    }

    [Fact]
    public void A_js_record_decodes_and_encodes_back_to_the_same_bytes()
    {
        var record = KadRecord.Parse(Convert.FromHexString(JsRecord));
        Assert.Equal("/test/key", System.Text.Encoding.UTF8.GetString(record.Key));
        Assert.Equal("hello", System.Text.Encoding.UTF8.GetString(record.Value));
        Assert.Equal("2026-11-27T10:00:00.000000000Z", record.TimeReceived);
        Assert.Equal(JsRecord, Convert.ToHexStringLower(record.ToProtobuf()));
        Assert.Equal(record.TimeReceived, KadRecord.FormatTime(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void A_js_put_value_without_a_type_field_is_a_put_value_and_encodes_back_the_same()
    {
        var message = KadMessage.Parse(Convert.FromHexString(JsPutValue));
        Assert.Equal(KadMessageType.PutValue, message.Type);
        Assert.Equal("/test/key", System.Text.Encoding.UTF8.GetString(message.Key));
        Assert.Equal("hello", System.Text.Encoding.UTF8.GetString(message.Record!.Value));
        Assert.Equal(JsPutValue, Convert.ToHexStringLower(message.ToProtobuf()));
    }

    [Fact]
    public void Rust_record_fields_publisher_and_ttl_round_trip()
    {
        var record = new KadRecord { Key = [1], Value = [2], Publisher = Peer, TtlSeconds = 3600 };
        var again = KadRecord.Parse(record.ToProtobuf());
        Assert.Equal(Peer, again.Publisher);
        Assert.Equal(3600u, again.TtlSeconds);
    }

    [Fact]
    public void Invalid_peers_are_dropped_and_foreign_or_unsupported_addresses_are_not_dialable()
    {
        var other = PeerId.Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
        byte[] quic = [0x04, 127, 0, 0, 1, 0x91, 0x02, 0x0f, 0xa1, 0xcc, 0x03];                       // /ip4/127.0.0.1/udp/4001/quic-v1
        byte[] foreign = Multiaddr.Parse($"/ip4/10.0.0.1/tcp/1/p2p/{other}").ToBytes();
        byte[] own = Multiaddr.Parse($"/ip4/10.0.0.2/tcp/2/p2p/{Peer}").ToBytes();
        var good = new KadPeer(Peer, [quic, foreign, own], KadConnectionType.CanConnect);
        var message = new KadMessage { Type = KadMessageType.FindNode, CloserPeers = [good] };
        // A peer whose id is garbage, and one with an unknown connection type: both built by hand.
        byte[] badId = [0x0a, 0x03, 0x01, 0x02, 0x03];
        byte[] badConnection = [0x0a, (byte)Peer.Bytes.Length, .. Peer.Bytes, 0x18, 0x07];
        byte[] wire = [.. message.ToProtobuf(), 0x42, (byte)badId.Length, .. badId, 0x42, (byte)badConnection.Length, .. badConnection];

        var parsed = KadMessage.Parse(wire);
        Assert.Equal(2, parsed.DroppedPeers);
        var peer = Assert.Single(parsed.CloserPeers);
        Assert.Equal(3, peer.AddressBytes.Count);                          // kept as received, for a crawler
        Assert.Equal(["/ip4/10.0.0.2/tcp/2"], peer.Addresses.Select(a => a.ToString())); // dialable, ours, without /p2p
    }

    [Theory]
    [InlineData("0806")]          // type 6: unknown
    [InlineData("1205616263")]    // key runs past the end
    [InlineData("1a03ffffff")]    // record: not a protobuf
    public void Malformed_messages_are_protocol_errors(string hex)
    {
        Assert.Throws<P2pProtocolException>(() => KadMessage.Parse(Convert.FromHexString(hex)));
    }

    [Fact]
    public async Task A_declared_length_over_the_cap_is_refused_before_any_body_is_read()
    {
        // 4 GiB declared, no body at all: the refusal must come from the prefix, not from a short read.
        using var stream = new MemoryStream([0x80, 0x80, 0x80, 0x80, 0x10]);
        var error = await Assert.ThrowsAsync<P2pProtocolException>(() => KadProtocol.ReadAsync(stream, 1024, CancellationToken.None));
        Assert.Contains("4294967296", error.Message);
    }

    [Fact]
    public async Task A_clean_end_before_a_message_reads_as_null_and_a_cut_message_is_an_error()
    {
        Assert.Null(await KadProtocol.ReadAsync(new MemoryStream(), 1024, CancellationToken.None));
        await Assert.ThrowsAsync<P2pProtocolException>(() => KadProtocol.ReadAsync(new MemoryStream([0x05, 0x08]), 1024, CancellationToken.None));
    }

    [Fact]
    public async Task A_request_gets_its_response_over_a_stream()
    {
        var (client, server) = Duplex.CreatePair();
        var serving = Task.Run(async () =>
        {
            var request = await KadProtocol.ReadAsync(server, 1024, CancellationToken.None);
            Assert.Equal(KadMessageType.FindNode, request!.Type);
            await KadProtocol.WriteAsync(server, new KadMessage { Type = KadMessageType.FindNode, CloserPeers = [new KadPeer(Peer, [Multiaddr.Parse("/ip4/1.2.3.4/tcp/5")])] }, CancellationToken.None);
        });
        var response = await KadProtocol.RequestAsync(client, KadMessage.FindNode(Peer.Bytes), TimeSpan.FromSeconds(10));
        await serving;
        Assert.Equal(Peer, Assert.Single(response.CloserPeers).Id);
    }

    [Fact]
    public async Task A_response_of_another_type_or_none_at_all_is_a_protocol_error()
    {
        var (client, server) = Duplex.CreatePair();
        _ = Task.Run(async () =>
        {
            await KadProtocol.ReadAsync(server, 1024, CancellationToken.None);
            await KadProtocol.WriteAsync(server, new KadMessage { Type = KadMessageType.GetValue }, CancellationToken.None);
        });
        await Assert.ThrowsAsync<P2pProtocolException>(() => KadProtocol.RequestAsync(client, KadMessage.FindNode(Peer.Bytes), TimeSpan.FromSeconds(10)));

        var (client2, server2) = Duplex.CreatePair();
        _ = Task.Run(async () =>
        {
            await KadProtocol.ReadAsync(server2, 1024, CancellationToken.None);
            server2.Dispose(); // closes without answering
        });
        await Assert.ThrowsAsync<P2pProtocolException>(() => KadProtocol.RequestAsync(client2, KadMessage.FindNode(Peer.Bytes), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_silent_remote_times_out_on_the_callers_clock()
    {
        var time = new FakeTimeProvider();
        var (client, server) = Duplex.CreatePair();
        var call = KadProtocol.RequestAsync(client, KadMessage.FindNode(Peer.Bytes), TimeSpan.FromSeconds(10), timeProvider: time);
        // The request is written before the wait begins: once the server has it, the deadline's timer exists.
        Assert.NotNull(await KadProtocol.ReadAsync(server, 1024, CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<TimeoutException>(() => call);
        GC.KeepAlive(server);
    }

    [Fact]
    public async Task Add_provider_is_refused_by_the_request_call_since_it_has_no_response()
    {
        var (client, _) = Duplex.CreatePair();
        await Assert.ThrowsAsync<ArgumentException>(() => KadProtocol.RequestAsync(client, new KadMessage { Type = KadMessageType.AddProvider }, TimeSpan.FromSeconds(1)));
    }
}
