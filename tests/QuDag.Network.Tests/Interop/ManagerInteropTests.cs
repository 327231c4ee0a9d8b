using System.Net;
using System.Text;
using QuDag.Network.Messaging;
using QuDag.P2p.Tests.Interop;

namespace QuDag.Network.Tests.Interop;

/// <summary>
/// The manager (the seed API) against unmodified js-libp2p: connect by multiaddr over noise and over tls, ping,
/// identify data on the peer, QuDAG's /qudag/req/1.0.0 both ways in rust's CBOR form, a js node dialing us,
/// our message protocol refused by a non-QuDag.PS peer, a wrong /p2p/ id, and a killed js node seen as gone.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ManagerInteropTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    public static TheoryData<string> Securities => new() { "noise", "tls" };

    private static string ProtocolId(string security) => security == "tls" ? "/tls/1.0.0" : "/noise";

    [Theory]
    [MemberData(nameof(Securities))]
    public async Task The_manager_connects_to_js_pings_it_learns_who_it_is_and_gets_its_answer(string security)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        await using var js = await JsNode.StartAsync(JsNodeOptions.Listener(security) with { Agent = "js-qudag/1.0" }, cts.Token);
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { Security = [ProtocolId(security)] });

        var peer = await manager.ConnectAsync(Multiaddr.Parse(js.Addresses[0]), cts.Token);
        Assert.Equal(js.ParsedPeerId, peer);
        Assert.Equal(js.ParsedPeerId, manager.AddPeer(Multiaddr.Parse(js.Addresses[0])));
        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(peer));

        Assert.True(await manager.PingAsync(peer, cts.Token) > TimeSpan.Zero);

        await Wait.UntilAsync(() => manager.GetPeer(peer)?.AgentVersion is not null, "identify data from js");
        var info = manager.GetPeer(peer)!;
        Assert.Equal("js-qudag/1.0", info.AgentVersion);
        Assert.Equal("/qudag/1.0.0", info.ProtocolVersion);
        Assert.Equal(ProtocolId(security), info.Security);
        Assert.Equal("/yamux/1.0.0", info.Muxer);
        Assert.Contains(QuDagRequestCodec.ProtocolId, info.Protocols);
        Assert.Contains(info.ListenAddresses, a => js.Addresses[0].StartsWith(a.ToString(), StringComparison.Ordinal));

        QuDagResponse response = await manager.RequestAsync(peer, new byte[] { 1, 2, 200 }, "req-7", cts.Token);
        Assert.Equal("req-7", response.RequestId);
        Assert.Equal([.. "ack:"u8.ToArray(), 1, 2, 200], response.Payload);

        // js is not a QuDag.PS node: our own message protocol is refused with a typed error, the connection stays.
        await Assert.ThrowsAsync<PeerProtocolNotSupportedException>(() => manager.SendAsync(peer, "hi"u8.ToArray(), cts.Token));
        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(peer));

        // Pooled and taken back without a new connection.
        await manager.DisconnectAsync(peer);
        await manager.ConnectAsync(peer, cts.Token);
        Assert.Single(await js.ConnectionsAsync(ct: cts.Token), c => c.Peer == manager.LocalPeerId.ToString());
    }

    [Theory]
    [MemberData(nameof(Securities))]
    public async Task A_js_node_dials_the_manager_and_asks_it_a_QuDAG_request(string security)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        await using var js = await JsNode.StartAsync(JsNodeOptions.Dialer(security), cts.Token);
        await using var manager = new ConnectionManager(100);
        var listener = await manager.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        manager.RequestHandler = (request, _) => ValueTask.FromResult(Encoding.UTF8.GetBytes($"pong:{request.RequestId}:{request.Payload.Length}"));

        JsDialResult dial = await js.DialAsync(listener.Addresses[0].ToString(), ct: cts.Token);
        Assert.Equal(ProtocolId(security), dial.Encryption);
        await Wait.UntilConnectedAsync(manager, js.ParsedPeerId);

        var answer = await js.RequestAsync(manager.LocalPeerId.ToString(), "js-9", new byte[] { 5, 6, 7 }, ct: cts.Token);
        Assert.Equal("js-9", answer.RequestId);
        Assert.Equal("pong:js-9:3", Encoding.UTF8.GetString(answer.Payload));
        Assert.True((await manager.GetMetricsAsync()).Connections >= 1);

        // The pull queue, when no handler is set.
        manager.RequestHandler = null;
        var pending = js.RequestAsync(manager.LocalPeerId.ToString(), "js-10", new byte[] { 1 }, ct: cts.Token);
        IncomingRequest incoming = await manager.ReceiveRequestAsync(cts.Token);
        Assert.Equal(("js-10", js.ParsedPeerId), (incoming.RequestId, incoming.PeerId));
        await incoming.RespondAsync("queued"u8.ToArray());
        Assert.Equal("queued", Encoding.UTF8.GetString((await pending).Payload));
    }

    [Fact]
    public async Task A_wrong_p2p_id_is_refused_and_a_killed_js_node_is_seen_gone_within_seconds()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        await using var js = await JsNode.StartAsync(JsNodeOptions.Listener("noise"), cts.Token);
        await using var manager = new ConnectionManager(100);
        using var stranger = NodeIdentity.Create();
        var address = Multiaddr.Parse(js.Addresses[0]);

        var mismatch = await Assert.ThrowsAsync<PeerIdentityMismatchException>(
            () => manager.ConnectAsync(stranger.PeerId, address.TryGetEndPoint(out var ep) ? ep : throw new InvalidOperationException(), cts.Token));
        Assert.Equal(js.ParsedPeerId, mismatch.Actual);
        Assert.Contains(js.PeerId, mismatch.Message);
        Assert.Contains(stranger.PeerId.ToString(), mismatch.Message);
        Assert.Equal(0, manager.OpenConnections);

        var peer = manager.AddPeer(address);
        await manager.ConnectAsync(peer, cts.Token);
        // A killed process's sockets are closed by its kernel: a clean end (Disconnected) or a reset (Failed).
        var gone = new TaskCompletionSource<ConnectionStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = manager.Subscribe(peer, e =>
        {
            if (e.NewStatus is ConnectionStatus.Disconnected or ConnectionStatus.Failed)
                gone.TrySetResult(e.NewStatus);
        });
        long killedAt = Environment.TickCount64;
        js.Kill();
        await gone.Task.WaitAsync(Bound, cts.Token);
        Assert.InRange(Environment.TickCount64 - killedAt, 0, 5_000);
        await Wait.UntilAsync(() => manager.OpenConnections == 0, "the dead connection's slot to be released");
    }
}
