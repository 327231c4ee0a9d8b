using System.Net;
using QuDag.P2p.Resources;
using QuDag.P2p.Tests.Interop;

namespace QuDag.Network.Tests.Interop;

/// <summary>
/// Issue 18's acceptance against unmodified js-libp2p, many js nodes in one node process (tests/interop/swarm.mjs):
/// sixty js peers dial one of ours with watermarks 20/30 and five of them protected; a js peer holds ping streams
/// against a protocol scope of eight; js peers dial one of ours at its MaxConnections.
/// </summary>
[Trait("Category", "Interop")]
public sealed class PolicyInteropTests
{
    private const string Ping = "/ipfs/ping/1.0.0";

    [Fact]
    public async Task Sixty_js_peers_are_trimmed_to_the_low_watermark_on_both_sides_keeping_the_protected_ones()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        // The manager's fake clock moves only when the test says: every js peer connects inside the 5 s grace period,
        // however long the dials take on a loaded machine, and the trim comes at the first tick past it.
        var time = new TimerWatchingTimeProvider();
        var silence = TimeSpan.FromSeconds(3);
        await using var node = new ConnectionManager(new ConnectionManagerOptions
        {
            TimeProvider = time,
            KeepAliveInterval = TimeSpan.Zero,
            LowWater = 20,
            HighWater = 30,
            GracePeriod = TimeSpan.FromSeconds(5),
            SilencePeriod = silence,
            MaxPendingInboundUpgradesPerAddress = 64, // sixty js nodes handshake from 127.0.0.1 at once
        });
        var listener = await node.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        await using var swarm = await JsSwarm.StartAsync(60, cts.Token);
        var protectedPeers = swarm.PeerIds.Take(5).Select(PeerId.Parse).ToArray();
        foreach (var peer in protectedPeers)
            node.Protect(peer, "validator");

        var failed = await swarm.DialAllAsync(listener.Addresses[0].ToString(), concurrency: 16, cts.Token);
        Assert.True(failed.Count == 0, string.Join(Environment.NewLine, failed) + JsNode.FormatStderr(swarm.StderrTail));
        await Wait.UntilAsync(() => node.GetPeers().Count(p => p.Status == ConnectionStatus.Connected) == 60, "all sixty adopted", 60_000);
        Assert.Equal(60, node.OpenConnections); // over the high watermark, but all in their grace period

        await Wait.UntilAsync(() => time.TimersCreated(silence) >= 1, "the trimmer's timer");
        time.Advance(TimeSpan.FromSeconds(6)); // ticks at 3 s (in grace) and 6 s (past it): one trim
        await Wait.UntilAsync(() => node.OpenConnections == 20, "trimmed to the low watermark on our side", 15_000);
        var jsSide = await Task.Run(async () =>
        {
            // js sees each close when our GoAway and FIN arrive: poll its own connection table, bounded.
            var deadline = Environment.TickCount64 + 15_000;
            while (true)
            {
                var count = (await swarm.ConnectionsAsync(cts.Token)).Count(peers => peers.Contains(node.LocalPeerId.ToString()));
                if (count <= 20 || Environment.TickCount64 > deadline)
                    return count;
                await Task.Delay(50, cts.Token);
            }
        });
        Assert.Equal(20, jsSide);

        var peers = node.GetPeers();
        Assert.All(protectedPeers, p => Assert.Equal(ConnectionStatus.Connected, peers.Single(i => i.PeerId == p).Status));
        var closed = peers.Where(p => p.Status != ConnectionStatus.Connected).ToList();
        Assert.Equal(40, closed.Count);
        Assert.All(closed, p => Assert.Equal(CloseReason.Trimmed, p.CloseReason)); // every closed peer says why: trimmed
        Assert.Equal(40, node.GetMetrics().ClosesByReason[CloseReason.Trimmed]);
        Assert.Equal(20, node.Resources.System.Usage().ConnectionsInbound); // the scopes agree
    }

    [Fact]
    public async Task A_js_peers_ninth_concurrent_ping_stream_is_reset_by_a_protocol_scope_of_eight_and_counted()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await using var node = new ConnectionManager(new ConnectionManagerOptions { KeepAliveInterval = TimeSpan.Zero });
        node.Resources.SetLimits(ResourceScopeKind.Protocol, new ResourceLimits { StreamsInbound = 8 }, Ping);
        var listener = await node.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        await using var swarm = await JsSwarm.StartAsync(1, cts.Token);
        Assert.Empty(await swarm.DialAllAsync(listener.Addresses[0].ToString(), 1, cts.Token));

        var held = await swarm.HoldAsync(0, node.LocalPeerId.ToString(), Ping, 9, cts.Token);
        var pinged = await swarm.PingHeldAsync(0, cts.Token);

        // Eight streams answer pings; the ninth was answered in negotiation and then reset, so either its open or its
        // ping fails.
        Assert.Equal(8, pinged.Succeeded);
        Assert.Equal(1, held.Failed + pinged.Failed);
        var failure = Assert.Single(held.Errors.Concat(pinged.Errors));
        Assert.Contains("reset", failure, StringComparison.OrdinalIgnoreCase); // "StreamResetError", or a write to a stream whose status is reset
        var usage = node.Resources.GetUsage(ResourceScopeKind.Protocol).Single(u => u.Name == Ping);
        Assert.Equal(1, usage.Blocked);
        Assert.Equal(8, usage.StreamsInbound);
        Assert.Equal(8, usage.StreamsInboundLimit);

        await swarm.ReleaseAsync(0, cts.Token);
        await Wait.UntilAsync(() => node.Resources.FindProtocol(Ping)!.Usage().StreamsInbound == 0, "the held streams gone");
    }

    [Fact]
    public async Task A_js_peer_at_MaxConnections_is_refused_and_counted_until_an_idle_connection_is_evicted_to_make_room()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await using var node = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 1, KeepAliveInterval = TimeSpan.Zero });
        var listener = await node.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var address = listener.Addresses[0].ToString();
        await using var swarm = await JsSwarm.StartAsync(2, cts.Token);
        var (first, second) = (PeerId.Parse(swarm.PeerIds[0]), PeerId.Parse(swarm.PeerIds[1]));
        Assert.Empty(await swarm.DialAllAsync(address, 1, cts.Token, nodes: [0]));
        await Wait.UntilConnectedAsync(node, first);

        // At the limit with nothing idle: the system scope refuses the second js peer at open, before its handshake.
        var refused = Assert.Single(await swarm.DialAllAsync(address, 1, cts.Token, nodes: [1]));
        Assert.StartsWith("node 1:", refused);
        await Wait.UntilAsync(() => node.GetMetrics().FailedInbound == 1, "the refusal counted");
        var system = Assert.Single(node.Resources.GetUsage(ResourceScopeKind.System)); // what Get-QuDagResourceUsage -Scope System shows
        Assert.Equal(1, system.Blocked);
        Assert.Equal((1, 1), (system.ConnectionsInbound, system.ConnectionsLimit));
        Assert.Null(node.GetPeer(second));

        // The first one idle in the pool: the next js dial evicts it (CloseReason Limit, the system scope) and is admitted.
        await node.DisconnectAsync(first);
        Assert.Single(node.GetPooledConnections());
        Assert.Empty(await swarm.DialAllAsync(address, 1, cts.Token, nodes: [1]));
        await Wait.UntilConnectedAsync(node, second);
        var evicted = node.GetPeer(first)!;
        Assert.Equal((CloseReason.Limit, "system"), (evicted.CloseReason, evicted.CloseScope));
        Assert.Empty(node.GetPooledConnections());
        Assert.Equal(1, node.OpenConnections);
        Assert.Equal(1, node.Resources.System.Blocked); // made room: nothing more refused
        await Wait.UntilAsync(() => !swarm.ConnectionsAsync(cts.Token).Result[0].Contains(node.LocalPeerId.ToString()),
            "the js side of the evicted connection closed");
    }
}
