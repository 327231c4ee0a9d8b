using System.Text.Json;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// js &lt;-&gt; js through the harness: proves node.mjs and JsNode before our stack is put on one side.
/// Needs `npm ci --prefix tests/interop` (the tests fail, never skip, without it).
/// </summary>
[Trait("Category", "Interop")]
public sealed class JsHarnessTests(JsPairFixture pair) : IClassFixture<JsPairFixture>
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(10);

    public static TheoryData<string> Securities => new() { "noise", "tls" };

    [Theory]
    [MemberData(nameof(Securities))]
    public async Task A_dialer_reaches_the_listener_then_pings_identifies_and_requests(string security)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        JsNode a = pair.Listener;
        JsNode b = pair.Dialer(security);

        Assert.Single(a.Addresses);
        Assert.EndsWith($"/p2p/{a.PeerId}", a.Addresses[0]);
        Assert.Empty(b.Addresses);
        Assert.Contains(JsProtocols.Request, a.Protocols);

        // Dialing a connected peer returns the open connection: what was negotiated.
        JsDialResult dial = await b.DialAsync(a.Addresses[0], ct: cts.Token);
        Assert.Equal(a.PeerId, dial.RemotePeer);
        Assert.Equal(ExpectedEncryption(security), dial.Encryption);
        Assert.Equal("/yamux/1.0.0", dial.Multiplexer);
        Assert.Equal("outbound", dial.Connection.Direction);

        JsonElement opened = await a.WaitForEventAsync("connection:open", e => JsNodes.PeerOf(e) == b.PeerId, EventTimeout, cts.Token);
        Assert.Equal("inbound", opened.GetProperty("direction").GetString());
        Assert.Equal(ExpectedEncryption(security), opened.GetProperty("encryption").GetString());
        Assert.Equal("/yamux/1.0.0", opened.GetProperty("multiplexer").GetString());

        double rtt = await b.PingAsync(a.PeerId, ct: cts.Token);
        Assert.InRange(rtt, 0, 10_000);

        JsIdentifyResult identify = await b.IdentifyAsync(a.PeerId, ct: cts.Token);
        Assert.Equal(a.PeerId, identify.Peer);
        Assert.Equal("/qudag/1.0.0", identify.ProtocolVersion);
        Assert.Equal(JsPairFixture.ListenerAgent, identify.AgentVersion);
        Assert.Contains(JsProtocols.Request, identify.Protocols);
        Assert.Contains(JsProtocols.Ping, identify.Protocols);
        Assert.StartsWith("/ip4/127.0.0.1/tcp/", identify.ObservedAddr);
        Assert.Contains(identify.ListenAddrs, addr => a.Addresses[0].StartsWith(addr, StringComparison.Ordinal));
        // The key js sent is the key behind the peer id: parsed and hashed by our own Identity code.
        Assert.NotNull(identify.PublicKey);
        Assert.Equal(a.ParsedPeerId, PublicKey.FromProtobuf(Convert.FromHexString(identify.PublicKey)).ToPeerId());

        // The automatic identify on connect shows up as an event on the listener's side.
        JsonElement seenByA = await a.WaitForEventAsync("peer:identify", e => JsNodes.PeerOf(e) == b.PeerId, EventTimeout, cts.Token);
        Assert.Equal($"dialer-{security}/1.0", seenByA.GetProperty("agentVersion").GetString());
        Assert.Equal("/qudag/1.0.0", seenByA.GetProperty("protocolVersion").GetString());

        var request = new QudagReqMessage($"req-{security}", [0, 1, 2, 253, 254, 255]);
        QudagReqMessage response = await b.RequestAsync(a.PeerId, request.RequestId, request.Payload, ct: cts.Token);
        Assert.Equal(request.RequestId, response.RequestId);
        Assert.Equal(request.Ack().Payload, response.Payload);

        IReadOnlyList<JsConnectionInfo> connections = await a.ConnectionsAsync(ct: cts.Token);
        JsConnectionInfo inbound = Assert.Single(connections, c => c.Peer == b.PeerId);
        Assert.Equal("open", inbound.Status);
    }

    [Theory]
    [MemberData(nameof(Securities))]
    public async Task A_thousand_concurrent_echo_streams_of_4_KiB_come_back_byte_exact(string security)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        JsStreamsResult result = await pair.Dialer(security).StreamsAsync(pair.Listener.PeerId, count: 1000, bytesPerStream: 4096, ct: cts.Token);
        Assert.True(
            result.Failed == 0,
            $"{result.Failed} streams failed: {string.Join("; ", result.Failures.Select(f => $"#{f.Index} {f.Error}"))}\n" +
            $"dialer stderr:\n{pair.Dialer(security).StderrTail}\nlistener stderr:\n{pair.Listener.StderrTail}");
        Assert.Equal(1000, result.Succeeded);
    }

    [Theory]
    [MemberData(nameof(Securities))]
    public async Task Sixteen_MiB_goes_both_ways_and_is_checked_on_arrival(string security)
    {
        const long size = 16L << 20;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        JsNode b = pair.Dialer(security);
        string expected = Convert.ToHexStringLower(InteropData.Sha256(size));

        JsSendResult sent = await b.SendAsync(pair.Listener.PeerId, size, ct: cts.Token);
        Assert.Equal(expected, sent.LocalSha256);
        Assert.Equal(expected, sent.RemoteSha256);
        Assert.True(sent.Match);

        JsFetchResult fetched = await b.FetchAsync(pair.Listener.PeerId, size, ct: cts.Token);
        Assert.Equal(size, fetched.Received);
        Assert.Null(fetched.FirstMismatch);
        Assert.Equal(expected, fetched.Sha256);
        Assert.True(fetched.Match);
    }

    [Fact]
    public async Task The_dialers_preference_decides_the_security_protocol_and_a_hang_up_closes_both_ends()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        JsNode[] nodes = await JsNodes.StartAllAsync(
            [
                JsNodeOptions.Listener("noise,tls"),
                JsNodeOptions.Listener("tls,noise"),
                JsNodeOptions.Dialer("tls"),
                JsNodeOptions.Dialer("tls,noise"),
                JsNodeOptions.Dialer("noise,tls"),
            ],
            cts.Token);
        try
        {
            (JsNode dialer, JsNode listener, string expected)[] cases =
            [
                (nodes[2], nodes[0], "/tls/1.0.0"),   // tls only -> a noise,tls listener: tls
                (nodes[3], nodes[0], "/tls/1.0.0"),   // prefers tls -> a noise-first listener: tls
                (nodes[4], nodes[1], "/noise"),       // prefers noise -> a tls-first listener: noise
            ];
            foreach (var (dialer, listener, expected) in cases)
            {
                JsDialResult dial = await dialer.DialAsync(listener.Addresses[0], ct: cts.Token);
                Assert.Equal(expected, dial.Encryption);
                JsonElement opened = await listener.WaitForEventAsync("connection:open", e => JsNodes.PeerOf(e) == dialer.PeerId, EventTimeout, cts.Token);
                Assert.Equal(expected, opened.GetProperty("encryption").GetString());

                await dialer.HangUpAsync(listener.PeerId, ct: cts.Token);
                await listener.WaitForEventAsync("connection:close", e => JsNodes.PeerOf(e) == dialer.PeerId, EventTimeout, cts.Token);
                Assert.DoesNotContain(await dialer.ConnectionsAsync(ct: cts.Token), c => c.Peer == listener.PeerId);
            }
        }
        finally
        {
            await JsNodes.DisposeAllAsync(nodes);
        }
    }

    [Fact]
    public async Task Wrong_peer_ids_and_killed_peers_fail_fast_and_are_seen()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        JsNode[] nodes = await JsNodes.StartAllAsync(
            [JsNodeOptions.Listener("noise"), JsNodeOptions.Listener("tls"), JsNodeOptions.Dialer("noise"), JsNodeOptions.Dialer("tls")],
            cts.Token);
        try
        {
            using var stranger = NodeIdentity.Create();
            foreach ((JsNode a, JsNode b) in new[] { (nodes[0], nodes[2]), (nodes[1], nodes[3]) })
            {
                // A /p2p/ id that is not the listener's: the security handshake must refuse it.
                string wrong = a.Addresses[0].Replace(a.PeerId, stranger.PeerId.ToString(), StringComparison.Ordinal);
                var refused = await Assert.ThrowsAsync<JsNodeCommandException>(() => b.DialAsync(wrong, ct: cts.Token));
                Assert.Equal("dial", refused.Command);
                Assert.DoesNotContain(await b.ConnectionsAsync(ct: cts.Token), c => c.Peer == a.PeerId || c.Peer == stranger.PeerId.ToString());

                // With TLS 1.3 the listener finishes its side before the dialer checks the certificate, so
                // js's listener may briefly hold (and then drop) a connection from the refused dial: only a
                // connection it had not seen before counts as the right dial's.
                HashSet<string> before = [.. a.Events.Where(e => JsNodes.PeerOf(e) == b.PeerId).Select(e => e.GetProperty("id").GetString()!)];

                // The right id connects; then the dialer dies without a word.
                await b.DialAsync(a.Addresses[0], ct: cts.Token);
                JsonElement opened = await a.WaitForEventAsync(
                    "connection:open", e => JsNodes.PeerOf(e) == b.PeerId && !before.Contains(e.GetProperty("id").GetString()!), EventTimeout, cts.Token);
                string connectionId = opened.GetProperty("id").GetString()!;
                b.Kill();
                await a.WaitForEventAsync("connection:close", e => e.GetProperty("id").GetString() == connectionId, EventTimeout, cts.Token);
                Assert.DoesNotContain(await a.ConnectionsAsync(ct: cts.Token), c => c.Id == connectionId);

                // A command to a dead node fails at once instead of waiting out its timeout.
                var dead = await Assert.ThrowsAsync<JsNodeException>(() => b.PingAsync(a.PeerId, TimeSpan.FromSeconds(20), cts.Token));
                Assert.Contains("exited", dead.Message, StringComparison.Ordinal);
            }
        }
        finally
        {
            await JsNodes.DisposeAllAsync(nodes);
        }
    }

    [Fact]
    public async Task A_fixed_key_gives_js_the_peer_id_our_identity_code_derives_and_errors_carry_js_text()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        byte[] seed = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
        using var identity = NodeIdentity.FromEd25519Seed(seed);

        await using JsNode a = await JsNode.StartAsync(JsNodeOptions.Listener() with { Ed25519Seed = seed }, cts.Token);
        Assert.Equal(identity.PeerId.ToString(), a.PeerId);
        Assert.Equal(identity.PeerId, a.ParsedPeerId);
        Assert.EndsWith($"/p2p/{identity.PeerId}", a.Addresses[0]);

        using var stranger = NodeIdentity.Create();
        var notConnected = await Assert.ThrowsAsync<JsNodeCommandException>(
            () => a.RequestAsync(stranger.PeerId.ToString(), "r", new byte[] { 1 }, ct: cts.Token));
        Assert.Contains("no open connection", notConnected.Error, StringComparison.Ordinal);
        var unknown = await Assert.ThrowsAsync<JsNodeCommandException>(() => a.CommandAsync("no-such-command", null, ct: cts.Token));
        Assert.Contains("unknown command", unknown.Error, StringComparison.Ordinal);

        // A clean stop exits 0.
        Assert.Equal(0, await a.StopAsync(cts.Token));
        Assert.True(a.HasExited);
    }

    [Fact]
    public async Task A_node_that_cannot_start_fails_the_start_with_its_reason()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var error = await Assert.ThrowsAsync<JsNodeException>(() => JsNode.StartAsync(JsNodeOptions.Listener("quic"), cts.Token));
        Assert.Contains("unknown security protocol 'quic'", error.Message, StringComparison.Ordinal);
    }

    private static string ExpectedEncryption(string security) => security == "tls" ? "/tls/1.0.0" : "/noise";
}
