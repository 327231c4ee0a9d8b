using System.Buffers.Binary;
using System.Net;
using System.Text.Json;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// Our stack (P2pHost) against unmodified js-libp2p 3.x: {noise, tls} x {we dial, js dials} x {ping,
/// identify}, a tls-preferring js dialer, wrong /p2p/ ids both ways, large transfers both ways checked byte
/// for byte, 1,000 js streams into us, QuDAG's request protocol, and a js node killed mid-stream.
/// </summary>
[Trait("Category", "Interop")]
public sealed class HostInteropTests(OursAndJsFixture js) : IClassFixture<OursAndJsFixture>
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(10);

    public static TheoryData<string> Securities => new() { "noise", "tls" };

    private static string ProtocolId(string security) => security == "tls" ? SecurityProtocols.Tls : SecurityProtocols.Noise;

    private static async Task<P2pHost> StartHostAsync(string security = "noise,tls", bool listen = false)
    {
        var host = new P2pHost(new P2pHostOptions { Security = security.Split(',').Select(ProtocolId).ToArray() });
        OurTestProtocols.Register(host);
        if (listen)
            await host.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        return host;
    }

    [Theory]
    [MemberData(nameof(Securities))]
    public async Task We_dial_js_then_ping_and_identify_it_and_it_identifies_us(string security)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var host = await StartHostAsync(security);

        var connection = await host.DialAsync(Multiaddr.Parse(js.Listener.Addresses[0]), cts.Token);
        Assert.Equal(js.Listener.ParsedPeerId, connection.RemotePeer);
        Assert.Equal(ProtocolId(security), connection.Security);
        Assert.Equal("/yamux/1.0.0", connection.Muxer);
        Assert.Equal(Direction.Outbound, connection.Direction);

        JsonElement opened = await js.Listener.WaitForEventAsync("connection:open", e => JsNodes.PeerOf(e) == host.LocalPeerId.ToString(), EventTimeout, cts.Token);
        Assert.Equal("inbound", opened.GetProperty("direction").GetString());
        Assert.Equal(ProtocolId(security), opened.GetProperty("encryption").GetString());

        for (int i = 0; i < 5; i++)
            Assert.InRange(await host.PingAsync(connection, cts.Token), TimeSpan.Zero, TimeSpan.FromSeconds(5));

        var identify = await host.IdentifyAsync(connection, cts.Token);
        Assert.Equal(OursAndJsFixture.ListenerAgent, identify.AgentVersion);
        Assert.Equal("/qudag/1.0.0", identify.ProtocolVersion);
        Assert.Contains("/ipfs/ping/1.0.0", identify.Protocols);
        Assert.Contains(JsProtocols.Request, identify.Protocols);
        Assert.True(identify.MatchesPeer(js.Listener.ParsedPeerId));
        var listen = identify.ListenAddrs.Select(b => Multiaddr.FromBytes(b).ToString()).ToArray();
        Assert.Contains(listen, a => js.Listener.Addresses[0].StartsWith(a, StringComparison.Ordinal));
        Assert.NotNull(identify.ObservedAddr);
        Assert.Equal(((IPEndPoint)connection.LocalEndPoint).Port, Multiaddr.FromBytes(identify.ObservedAddr!).TryGetEndPoint(out var observed) ? ((IPEndPoint)observed).Port : -1);

        // js asked us too, on its own, when the connection opened.
        JsonElement seen = await js.Listener.WaitForEventAsync("peer:identify", e => JsNodes.PeerOf(e) == host.LocalPeerId.ToString(), EventTimeout, cts.Token);
        Assert.StartsWith("qudag-ps/", seen.GetProperty("agentVersion").GetString());
        Assert.Equal("/qudag/1.0.0", seen.GetProperty("protocolVersion").GetString());
        Assert.Contains(seen.GetProperty("protocols").EnumerateArray(), p => p.GetString() == "/ipfs/ping/1.0.0");

        await connection.CloseAsync(cts.Token);
        await js.Listener.WaitForEventAsync("connection:close", e => JsNodes.PeerOf(e) == host.LocalPeerId.ToString(), EventTimeout, cts.Token);
    }

    [Theory]
    [MemberData(nameof(Securities))]
    public async Task Js_dials_us_then_pings_and_identifies_us_and_we_ping_it_back(string security)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var host = await StartHostAsync(listen: true);
        var accepted = new TaskCompletionSource<P2pConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.ConnectionOpened += c => accepted.TrySetResult(c);
        JsNode dialer = js.Dialer(security);
        string ours = host.Listeners.Single().Addresses[0].ToString();

        JsDialResult dial = await dialer.DialAsync(ours, ct: cts.Token);
        Assert.Equal(host.LocalPeerId.ToString(), dial.RemotePeer);
        Assert.Equal(ProtocolId(security), dial.Encryption);
        Assert.Equal("/yamux/1.0.0", dial.Multiplexer);

        var connection = await accepted.Task.WaitAsync(EventTimeout, cts.Token);
        Assert.Equal(Direction.Inbound, connection.Direction);
        Assert.Equal(dialer.ParsedPeerId, connection.RemotePeer);
        Assert.Equal(ProtocolId(security), connection.Security);

        Assert.InRange(await dialer.PingAsync(host.LocalPeerId.ToString(), ct: cts.Token), 0, 5_000);
        JsIdentifyResult identify = await dialer.IdentifyAsync(host.LocalPeerId.ToString(), ct: cts.Token);
        Assert.StartsWith("qudag-ps/", identify.AgentVersion);
        Assert.Equal("/qudag/1.0.0", identify.ProtocolVersion);
        Assert.Contains("/ipfs/id/1.0.0", identify.Protocols);
        Assert.Contains(ours, identify.ListenAddrs.Select(a => $"{a}/p2p/{host.LocalPeerId}"));
        Assert.Equal(host.LocalPeerId, PublicKey.FromProtobuf(Convert.FromHexString(identify.PublicKey!)).ToPeerId());

        Assert.InRange(await host.PingAsync(connection, cts.Token), TimeSpan.Zero, TimeSpan.FromSeconds(5));
        var theirs = await host.IdentifyAsync(connection, cts.Token);
        Assert.Equal($"js-dialer-{security}/1.0", theirs.AgentVersion);

        await dialer.HangUpAsync(host.LocalPeerId.ToString(), ct: cts.Token);
        await connection.Completion.WaitAsync(EventTimeout, cts.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.False(connection.IsOpen);
    }

    [Fact]
    public async Task A_js_dialer_that_prefers_tls_gets_tls_from_us()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var host = await StartHostAsync("noise,tls", listen: true);
        JsDialResult dial = await js.Dialer("tls,noise").DialAsync(host.Listeners.Single().Addresses[0].ToString(), ct: cts.Token);
        Assert.Equal(SecurityProtocols.Tls, dial.Encryption);
        await js.Dialer("tls,noise").HangUpAsync(host.LocalPeerId.ToString(), ct: cts.Token);
    }

    [Theory]
    [MemberData(nameof(Securities))]
    public async Task A_wrong_p2p_id_is_refused_both_ways_and_leaves_no_connection(string security)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var host = await StartHostAsync(security, listen: true);
        using var stranger = NodeIdentity.Create();

        // We dial js expecting someone else.
        var wrongJs = Multiaddr.Parse(js.Listener.Addresses[0]).WithoutPeerId().WithPeerId(stranger.PeerId);
        var mismatch = await Assert.ThrowsAsync<PeerIdMismatchException>(() => host.DialAsync(wrongJs, cts.Token));
        Assert.Equal(stranger.PeerId, mismatch.Expected);
        Assert.Equal(js.Listener.ParsedPeerId, mismatch.Actual);
        Assert.Empty(host.Connections);

        // js dials us expecting someone else.
        string wrongUs = host.Listeners.Single().Addresses[0].WithoutPeerId().WithPeerId(stranger.PeerId).ToString();
        await Assert.ThrowsAsync<JsNodeCommandException>(() => js.Dialer(security).DialAsync(wrongUs, ct: cts.Token));
        Assert.DoesNotContain(await js.Dialer(security).ConnectionsAsync(ct: cts.Token), c => c.Peer == host.LocalPeerId.ToString());
    }

    [Theory]
    [MemberData(nameof(Securities))]
    public async Task Sixteen_MiB_each_way_arrives_byte_exact_whoever_sends(string security)
    {
        const long size = 16L << 20;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var host = await StartHostAsync(security, listen: true);
        var connection = await host.DialAsync(Multiaddr.Parse(js.Listener.Addresses[0]), cts.Token);
        byte[] expectedHash = InteropData.Sha256(size);

        // We write into js's sink; js answers the hash of what arrived.
        await using (var sink = await connection.OpenStreamAsync(JsProtocols.Sink, cts.Token))
        {
            await OurTestProtocols.WriteStreamAsync(sink, size, cts.Token);
            await sink.CloseWriteAsync(cts.Token);
            byte[] hash = new byte[32];
            await sink.ReadExactlyAsync(hash, cts.Token);
            Assert.Equal(expectedHash, hash);
        }

        // We read js's source and check every byte.
        await using (var source = await connection.OpenStreamAsync(JsProtocols.Source, cts.Token))
        {
            byte[] header = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(header, size);
            await source.WriteAsync(header, cts.Token);
            await source.CloseWriteAsync(cts.Token);
            Assert.Equal(size, await OurTestProtocols.ReadAndCheckStreamAsync(source, cts.Token));
        }

        // And js does the same against us, over a connection it dials.
        JsNode dialer = js.Dialer(security);
        await dialer.DialAsync(host.Listeners.Single().Addresses[0].ToString(), ct: cts.Token);
        JsSendResult sent = await dialer.SendAsync(host.LocalPeerId.ToString(), size, ct: cts.Token);
        Assert.True(sent.Match, $"js sent {sent.LocalSha256}, our sink hashed {sent.RemoteSha256}");
        JsFetchResult fetched = await dialer.FetchAsync(host.LocalPeerId.ToString(), size, ct: cts.Token);
        Assert.Equal(size, fetched.Received);
        Assert.Null(fetched.FirstMismatch);
        Assert.True(fetched.Match);
        await dialer.HangUpAsync(host.LocalPeerId.ToString(), ct: cts.Token);
    }

    [Theory]
    [MemberData(nameof(Securities))]
    public async Task A_thousand_concurrent_js_streams_into_us_echo_byte_exact(string security)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await using var host = await StartHostAsync(security, listen: true);
        JsNode dialer = js.Dialer(security);
        await dialer.DialAsync(host.Listeners.Single().Addresses[0].ToString(), ct: cts.Token);
        JsStreamsResult result = await dialer.StreamsAsync(host.LocalPeerId.ToString(), count: 1000, bytesPerStream: 4096,
            timeout: TimeSpan.FromSeconds(80), ct: cts.Token);
        Assert.True(result.Failed == 0,
            $"{result.Failed} streams failed: {string.Join("; ", result.Failures.Select(f => $"#{f.Index} {f.Error}"))}\njs stderr:\n{dialer.StderrTail}");
        Assert.Equal(1000, result.Succeeded);
        // Every stream was closed by both sides: none is left open on our session.
        var connection = host.Connections.Single(c => c.RemotePeer == dialer.ParsedPeerId);
        await WaitUntilAsync(() => connection.Session.StreamCount == 0, "our side released all 1,000 streams", cts.Token);
        await dialer.HangUpAsync(host.LocalPeerId.ToString(), ct: cts.Token);
    }

    [Theory]
    [MemberData(nameof(Securities))]
    public async Task QuDAGs_request_protocol_is_answered_both_ways_in_rusts_cbor_form(string security)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var host = await StartHostAsync(security, listen: true);
        var connection = await host.DialAsync(Multiaddr.Parse(js.Listener.Addresses[0]), cts.Token);

        var request = new QudagReqMessage("ours-1", [0, 1, 127, 128, 255]);
        await using (var stream = await connection.OpenStreamAsync(JsProtocols.Request, cts.Token))
        {
            await stream.WriteAsync(request.Encode(), cts.Token);
            await stream.CloseWriteAsync(cts.Token);
            using var body = new MemoryStream();
            await stream.CopyToAsync(body, cts.Token);
            var response = QudagReqMessage.Decode(body.ToArray());
            Assert.Equal(request.Ack(), response with { Payload = response.Payload }, QudagComparer.Instance);
        }

        JsNode dialer = js.Dialer(security);
        await dialer.DialAsync(host.Listeners.Single().Addresses[0].ToString(), ct: cts.Token);
        var answered = await dialer.RequestAsync(host.LocalPeerId.ToString(), "js-1", new byte[] { 9, 8, 7 }, ct: cts.Token);
        Assert.Equal("js-1", answered.RequestId);
        Assert.Equal(new QudagReqMessage("js-1", [9, 8, 7]).Ack().Payload, answered.Payload);
        await dialer.HangUpAsync(host.LocalPeerId.ToString(), ct: cts.Token);
    }

    [Fact]
    public async Task A_js_node_killed_mid_stream_fails_our_read_and_closes_the_connection_within_seconds()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var victim = await JsNode.StartAsync(JsNodeOptions.Listener("noise"), cts.Token);
        await using var host = await StartHostAsync("noise");
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.ConnectionClosed += _ => closed.TrySetResult();
        var connection = await host.DialAsync(Multiaddr.Parse(victim.Addresses[0]), cts.Token);

        // A 1 GiB download we read slowly: the kill lands while the stream is busy.
        await using var source = await connection.OpenStreamAsync(JsProtocols.Source, cts.Token);
        byte[] header = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(header, 1L << 30);
        await source.WriteAsync(header, cts.Token);
        byte[] buffer = new byte[64 * 1024];
        await source.ReadExactlyAsync(buffer, cts.Token);

        long killedAt = Environment.TickCount64;
        victim.Kill();
        var failure = await Record.ExceptionAsync(async () =>
        {
            while (await source.ReadAsync(buffer, cts.Token) > 0)
            {
            }
        });
        Assert.True(failure is IOException or QuDag.P2p.Muxing.StreamResetException or QuDag.P2p.Muxing.MuxerClosedException,
            $"Expected the read to fail as a reset or I/O error, got {failure?.GetType().Name ?? "a clean end of stream"}: {failure?.Message}");
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(5), cts.Token);
        Assert.False(connection.IsOpen);
        Assert.Empty(host.Connections);
        Assert.InRange(Environment.TickCount64 - killedAt, 0, 5_000);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, CancellationToken ct)
    {
        while (!condition())
        {
            if (ct.IsCancellationRequested)
                Assert.Fail($"Timed out waiting until {what}.");
            await Task.Delay(10, CancellationToken.None);
        }
    }

    private sealed class QudagComparer : IEqualityComparer<QudagReqMessage>
    {
        public static QudagComparer Instance { get; } = new();

        public bool Equals(QudagReqMessage? x, QudagReqMessage? y)
            => x is not null && y is not null && x.RequestId == y.RequestId && x.Payload.AsSpan().SequenceEqual(y.Payload);

        public int GetHashCode(QudagReqMessage obj) => obj.RequestId.GetHashCode(StringComparison.Ordinal);
    }
}
