using System.Net.Sockets;
using QuDag.P2p.Resources;

namespace QuDag.Network.Tests.Policy;

/// <summary>
/// MaxConnections is the host's system scope and nothing else: it counts every connection from its open (handshaking,
/// active, idle; both ways), never lets the count pass the limit under concurrent dials and accepts, makes room by
/// evicting an idle pooled connection, and fails with the typed error when nothing can go. (What the manager's
/// ConnectionLimiter used to guarantee, now on the one count. The pool eviction and TrimAtLimit on each path:
/// LimitTests and ConnectionTrimmerTests.)
/// </summary>
public sealed class SystemLimitTests
{
    [Fact]
    public async Task Concurrent_dials_and_accepts_never_take_the_count_past_the_limit_and_every_refusal_is_counted()
    {
        const int max = 4;
        await using var hub = await TestNode.StartAsync(new ConnectionManagerOptions { MaxConnections = max, KeepAliveInterval = TimeSpan.Zero });
        var dialers = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => TestNode.StartAsync(new() { KeepAliveInterval = TimeSpan.Zero })));
        var targets = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => TestNode.StartAsync(new() { KeepAliveInterval = TimeSpan.Zero })));
        try
        {
            // Samples the one count while the storm runs (bounded: it stops when the storm has ended).
            using var stormOver = new CancellationTokenSource();
            var observedMax = Task.Run(() =>
            {
                int seen = 0;
                while (!stormOver.IsCancellationRequested)
                {
                    seen = Math.Max(seen, hub.Manager.OpenConnections);
                    Thread.SpinWait(64);
                }
                return seen;
            });
            using var start = new ManualResetEventSlim();
            var inbound = dialers.Select(d => Task.Run(async () =>
            {
                start.Wait();
                return await Record.ExceptionAsync(() => d.Manager.ConnectAsync(hub.Id, hub.EndPoint));
            })).ToArray();
            var outbound = targets.Select(t => Task.Run(async () =>
            {
                start.Wait();
                return await Record.ExceptionAsync(() => hub.Manager.ConnectAsync(t.Id, t.EndPoint));
            })).ToArray();
            start.Set();
            var inboundErrors = await Task.WhenAll(inbound);
            var outboundErrors = await Task.WhenAll(outbound);
            // An inbound refusal reaches the hub's metrics when its task ends; the dialer may have seen the close first.
            int inboundRefused = inboundErrors.Count(e => e is not null);
            await Wait.UntilAsync(() => hub.Manager.GetMetrics().FailedInbound == inboundRefused, "the hub counted each inbound refusal");
            stormOver.Cancel();

            Assert.True(await observedMax <= max, $"the count reached {await observedMax}, past the limit of {max}");
            Assert.All(outboundErrors.OfType<Exception>(), e => Assert.IsType<ConnectionLimitReachedException>(e));
            Assert.All(inboundErrors.OfType<Exception>(), e => Assert.IsType<PeerConnectException>(e, exactMatch: false));
            int admitted = inboundErrors.Count(e => e is null) + outboundErrors.Count(e => e is null);
            Assert.True(admitted <= max, $"{admitted} connections admitted at a limit of {max}");
            // Nothing idle, nothing pending: what is open is exactly what was admitted, and everything else was refused
            // by the system scope (12 tries, at most 4 places).
            Assert.Equal(admitted, hub.Manager.OpenConnections);
            Assert.Equal(admitted, hub.Manager.GetPeers().Count(p => p.Status == ConnectionStatus.Connected));
            Assert.Equal(12 - admitted, hub.Manager.Resources.System.Blocked);
        }
        finally
        {
            await Task.WhenAll(dialers.Concat(targets).Select(n => n.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task A_handshake_in_progress_holds_a_place_so_a_dial_at_the_limit_fails_typed_before_any_socket()
    {
        // A frozen clock: the silent socket's handshake never times out.
        var frozen = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var hub = await TestNode.StartAsync(new ConnectionManagerOptions { MaxConnections = 1, TimeProvider = frozen, KeepAliveInterval = TimeSpan.Zero });
        await using var target = await TestNode.StartAsync();
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await silent.ConnectAsync(hub.EndPoint);
        await Wait.UntilAsync(() => hub.Manager.OpenConnections == 1, "the silent handshake counted");

        var refused = await Assert.ThrowsAsync<ConnectionLimitReachedException>(() => hub.Manager.ConnectAsync(target.Id, target.EndPoint));

        Assert.Equal(1, refused.Limit);
        Assert.Equal("system", refused.Scope);
        Assert.Equal(0, target.Listener.AcceptedCount); // refused at open: no socket was dialed
        Assert.Equal(1, hub.Manager.Resources.Transient.Usage().ConnectionsInbound);

        silent.Dispose(); // the handshake ends: its place comes back
        await Wait.UntilAsync(() => hub.Manager.OpenConnections == 0, "the silent socket's place back");
        await hub.Manager.ConnectAsync(target.Id, target.EndPoint);
        Assert.Equal(1, hub.Manager.OpenConnections);
    }

    [Fact]
    public async Task With_accounting_off_MaxConnections_still_holds_and_still_evicts_an_idle_connection()
    {
        // The seed's contract: new ConnectionManager(max) enforces max, whatever the scopes' other accounting.
        await using var a = await TestNode.StartAsync();
        await using var b = await TestNode.StartAsync();
        await using var c = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(new ConnectionManagerOptions
        {
            MaxConnections = 2,
            Resources = new ResourceManagerOptions { Enabled = false },
        });
        await manager.ConnectAsync(a.Id, a.EndPoint);
        await manager.ConnectAsync(b.Id, b.EndPoint);

        await Assert.ThrowsAsync<ConnectionLimitReachedException>(() => manager.ConnectAsync(c.Id, c.EndPoint));
        Assert.Equal(2, manager.OpenConnections);
        Assert.Empty(manager.Resources.GetUsage(ResourceScopeKind.Peer)); // nothing else is counted

        await manager.DisconnectAsync(a.Id); // pooled: idle
        await manager.ConnectAsync(c.Id, c.EndPoint);
        Assert.Equal(CloseReason.Limit, manager.GetPeer(a.Id)!.CloseReason);
        Assert.Equal(2, manager.OpenConnections);
    }
}
