using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Host;
using QuDag.P2p.Muxing;
using QuDag.P2p.Resources;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Tests.Resources;

/// <summary>
/// The scopes wired into the stack, our node against our node over loopback TCP: a connection is pending then
/// established and gives all back when it ends; each limit (pending, established, per peer, per protocol, memory,
/// subnet count and rate, allowlist, process memory) refuses what passes it, and only that.
/// </summary>
public sealed class HostResourceTests
{
    private const string Echo = "/qudag-test/echo/1.0.0";
    private const string Hold = "/qudag-test/hold/1.0.0";   // reads nothing until the stream ends: data piles up

    private static P2pHost NewHost(ResourceManagerOptions? resources = null, TimeProvider? time = null, int maxPendingPerAddress = 8)
    {
        var host = new P2pHost(new P2pHostOptions
        {
            Security = [SecurityProtocols.Noise],
            Resources = resources ?? new ResourceManagerOptions(1L << 30),
            TimeProvider = time ?? TimeProvider.System,
            MaxPendingInboundUpgradesPerAddress = maxPendingPerAddress,
        });
        host.SetStreamHandler(Echo, async (stream, _, ct) =>
        {
            await stream.CopyToAsync(stream, ct);
            await stream.CloseWriteAsync(ct);
        });
        host.SetStreamHandler(Hold, async (stream, connection, ct) =>
        {
            await connection.Completion.WaitAsync(ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        });
        return host;
    }

    private static ResourceManagerOptions Limits(Func<ResourceManagerOptions, ResourceManagerOptions> change) =>
        change(new ResourceManagerOptions(1L << 30));

    private static async Task WaitAsync(Func<bool> condition, string what, CancellationToken ct)
    {
        while (!condition())
        {
            if (ct.IsCancellationRequested)
                Assert.Fail("Timed out waiting for: " + what);
            await Task.Delay(5, CancellationToken.None);
        }
    }

    /// <summary>Awaits a task that may fail (a connection's end), for its end only.</summary>
    private static async Task Ended(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
        }
    }

    private static bool AllEmpty(P2pHost host) => host.Resources.GetUsage().All(u => u.IsEmpty) && host.Resources.Subnets.Count == 0;

    private static string Describe(P2pHost host) => string.Join(Environment.NewLine, host.Resources.GetUsage().Where(u => !u.IsEmpty));

    private static async Task<bool> EchoesAsync(P2pConnection connection, CancellationToken ct)
    {
        try
        {
            await using var stream = await connection.OpenStreamAsync(Echo, ct);
            await stream.WriteAsync("hi"u8.ToArray(), ct);
            await stream.CloseWriteAsync(ct);
            var buffer = new byte[2];
            await stream.ReadExactlyAsync(buffer, ct);
            return buffer.SequenceEqual("hi"u8.ToArray());
        }
        catch (Exception e) when (e is IOException or P2pException)
        {
            return false;
        }
    }

    [Fact]
    public async Task A_connection_is_pending_then_established_on_both_sides_and_its_end_gives_everything_back()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var a = NewHost();
        await using var b = NewHost();
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);

        // A silent socket is accepted and stays pending: the transient scope holds it, and the system scope counts it too
        // (as go's does: MaxConnections counts handshakes in progress).
        using (var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await silent.ConnectAsync(listener.LocalEndPoint, cts.Token);
            await WaitAsync(() => b.Resources.Transient.Usage().ConnectionsInbound == 1, "the silent socket pending", cts.Token);
            await WaitAsync(() => b.Resources.System.Usage().ConnectionsInbound == 1, "the silent socket in the system scope", cts.Token);
        }
        await WaitAsync(() => b.Resources.Transient.Usage().ConnectionsInbound == 0 && b.Resources.System.Connections == 0,
            "the silent socket's slots back", cts.Token);

        var connection = await a.DialAsync(listener.Addresses[0], cts.Token);
        Assert.Equal(b.LocalPeerId, connection.Resources!.Peer);
        Assert.Equal(1, a.Resources.System.Usage().ConnectionsOutbound);
        Assert.Equal(1, a.Resources.FindPeer(b.LocalPeerId)!.Usage().ConnectionsOutbound);
        Assert.Equal(0, a.Resources.Transient.Usage().ConnectionsOutbound);
        await WaitAsync(() => b.Resources.System.Usage().ConnectionsInbound == 1, "b counts it established", cts.Token);
        Assert.True(await EchoesAsync(connection, cts.Token));
        // The echo stream counted in its protocol's scope, and left it once both ends had closed it.
        await WaitAsync(() => a.Resources.FindProtocol(Echo)?.Usage().StreamsOutbound == 0, "the echo stream gone from its protocol scope", cts.Token);
        Assert.Equal(0, a.Resources.FindProtocol(Echo)!.Blocked);

        await connection.CloseAsync(cts.Token);
        await Ended(connection.Completion);
        Assert.True(AllEmpty(a), Describe(a)); // released before Completion completed
        await WaitAsync(() => AllEmpty(b), "b gives everything back", cts.Token);
        Assert.Null(a.Resources.FindPeer(b.LocalPeerId));
    }

    [Fact]
    public async Task The_pending_inbound_limit_refuses_a_handshake_past_it_until_one_finishes()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var b = NewHost(Limits(o => o with { Transient = new ResourceLimits { ConnectionsInbound = 1 } }));
        var refusals = new List<Exception>();
        b.InboundUpgradeFailed += (_, e) => { lock (refusals) refusals.Add(e); };
        await using var a = NewHost();
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await silent.ConnectAsync(listener.LocalEndPoint, cts.Token);
        await WaitAsync(() => b.Resources.Transient.Usage().ConnectionsInbound == 1, "the silent socket pending", cts.Token);

        await Assert.ThrowsAnyAsync<Exception>(() => a.DialAsync(listener.Addresses[0], cts.Token));
        await WaitAsync(() => listener.RefusedCount == 1, "the refusal", cts.Token);
        ResourceLimitExceededException refused;
        lock (refusals)
            refused = Assert.IsType<ResourceLimitExceededException>(Assert.Single(refusals));
        Assert.Equal(ResourceScopeKind.Transient, refused.Scope);
        Assert.Contains("the transient scope is at its limit of 1 inbound connections", refused.Message);
        Assert.Equal(1, b.Resources.Transient.Blocked);

        silent.Dispose();
        await WaitAsync(() => b.Resources.Transient.Usage().ConnectionsInbound == 0, "the pending slot back", cts.Token);
        var connection = await a.DialAsync(listener.Addresses[0], cts.Token);
        Assert.True(connection.IsOpen);
    }

    [Fact]
    public async Task The_system_limit_refuses_an_inbound_connection_before_its_handshake_and_names_the_system_scope()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var b = NewHost(Limits(o => o with { System = o.System with { Connections = 1 } }));
        var refusals = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        b.InboundUpgradeFailed += (_, e) => refusals.Enqueue(e);
        await using var a = NewHost();
        await using var c = NewHost();
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var first = await a.DialAsync(listener.Addresses[0], cts.Token);
        await WaitAsync(() => b.Resources.System.Usage().ConnectionsInbound == 1, "a established", cts.Token);

        // Refused at open, as go's system scope does: the socket closes before any handshake, so c's dial fails.
        await Assert.ThrowsAnyAsync<Exception>(() => c.DialAsync(listener.Addresses[0], cts.Token));
        await WaitAsync(() => !refusals.IsEmpty, "the refusal", cts.Token);
        Assert.Equal(1, listener.RefusedCount);
        Assert.Equal(1, b.Resources.System.Blocked);
        var refused = Assert.IsType<ResourceLimitExceededException>(Assert.Single(refusals));
        Assert.Equal(ResourceScopeKind.System, refused.Scope);
        Assert.Contains("the system scope is at its limit of 1 connections", refused.Message);
        Assert.True(await EchoesAsync(first, cts.Token));
        await WaitAsync(() => b.Resources.Transient.Usage().ConnectionsInbound == 0, "c's pending slot back", cts.Token);
        Assert.Equal(1, b.Resources.System.Usage().ConnectionsInbound);
    }

    [Fact]
    public async Task A_peer_stream_limit_resets_the_inbound_stream_past_it_and_the_others_work()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var b = NewHost(Limits(o => o with { PeerDefault = o.PeerDefault with { StreamsInbound = 2 } }));
        await using var a = NewHost();
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var connection = await a.DialAsync(listener.Addresses[0], cts.Token);
        // a's identify request is an inbound stream for b: let it finish, so only the held streams count below.
        await a.IdentifyAsync(connection, cts.Token);
        await WaitAsync(() => b.Resources.FindPeer(a.LocalPeerId)?.Usage().StreamsInbound == 0, "a's identify stream gone", cts.Token);

        var held = new List<MuxedStream>();
        for (int i = 0; i < 2; i++)
            held.Add(await connection.OpenStreamAsync(Hold, cts.Token));
        await WaitAsync(() => b.Resources.FindPeer(a.LocalPeerId)?.Usage().StreamsInbound == 2, "two streams held", cts.Token);

        // The third SYN is answered with RST: its negotiation fails.
        await Assert.ThrowsAnyAsync<Exception>(() => connection.OpenStreamAsync(Echo, cts.Token));
        Assert.Equal(1, b.Resources.FindPeer(a.LocalPeerId)!.Blocked);
        foreach (var stream in held)
            stream.Reset();
        await WaitAsync(() => b.Resources.FindPeer(a.LocalPeerId)?.Usage().StreamsInbound == 0, "the streams gone", cts.Token);
        Assert.True(await EchoesAsync(connection, cts.Token));
    }

    [Fact]
    public async Task A_protocol_stream_limit_resets_the_stream_past_it_after_negotiation_and_counts_it()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var b = NewHost(Limits(o => o with { Protocols = new Dictionary<string, ResourceLimits> { [Hold] = new() { StreamsInbound = 2 } } }));
        await using var a = NewHost();
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var connection = await a.DialAsync(listener.Addresses[0], cts.Token);
        var held = new List<MuxedStream>();
        for (int i = 0; i < 2; i++)
            held.Add(await connection.OpenStreamAsync(Hold, cts.Token));
        await WaitAsync(() => b.Resources.FindProtocol(Hold)?.Usage().StreamsInbound == 2, "two held", cts.Token);

        // b answers the negotiation, then resets: the reset may land before or after our side has read the answer.
        await Assert.ThrowsAsync<StreamResetException>(async () =>
        {
            await using var third = await connection.OpenStreamAsync(Hold, cts.Token);
            await third.ReadExactlyAsync(new byte[1], cts.Token);
        });
        Assert.Equal(1, b.Resources.FindProtocol(Hold)!.Blocked);
        Assert.True(await EchoesAsync(connection, cts.Token)); // another protocol is not limited
        Assert.Equal(2, b.Resources.FindProtocol(Hold)!.Usage().StreamsInbound);
    }

    [Fact]
    public async Task An_outbound_stream_past_our_own_protocol_limit_fails_with_the_limit_error()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var a = NewHost(Limits(o => o with { Protocols = new Dictionary<string, ResourceLimits> { [Hold] = new() { StreamsOutbound = 1 } } }));
        await using var b = NewHost();
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var connection = await a.DialAsync(listener.Addresses[0], cts.Token);
        await using var first = await connection.OpenStreamAsync(Hold, cts.Token);
        var refused = await Assert.ThrowsAsync<ResourceLimitExceededException>(() => connection.OpenStreamAsync(Hold, cts.Token));
        Assert.Equal(Hold, refused.ScopeName);
        Assert.Equal("outbound streams", refused.Resource);
        await WaitAsync(() => a.Resources.FindProtocol(Hold)!.Usage().StreamsOutbound == 1, "the refused stream's slots back", cts.Token);
        await WaitAsync(() => a.Resources.FindPeer(b.LocalPeerId)!.Usage().StreamsOutbound <= 2, "peer streams", cts.Token);
    }

    [Fact]
    public async Task A_stream_that_buffers_past_its_memory_limit_is_reset_and_the_memory_never_passes_the_limit()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        const int limit = 64 * 1024;
        await using var b = NewHost(Limits(o => o with { Stream = new ResourceLimits { MemoryBytes = limit } }));
        long peak = 0;
        var blocked = new System.Collections.Concurrent.ConcurrentQueue<ResourceLimitExceededException>();
        b.Resources.Blocked += blocked.Enqueue;
        await using var a = NewHost();
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var connection = await a.DialAsync(listener.Addresses[0], cts.Token);
        await using var stream = await connection.OpenStreamAsync(Hold, cts.Token);

        // 200 KiB fit yamux's 256 KiB window, so a sends them all; b, which reads nothing, may buffer only 64 KiB.
        var payload = new byte[16 * 1024];
        Exception? failed = null;
        try
        {
            for (int i = 0; i < 200 / 16; i++)
            {
                await stream.WriteAsync(payload, cts.Token);
                peak = Math.Max(peak, b.Resources.System.Usage().MemoryBytes);
            }
            var buffer = new byte[1];
            await stream.ReadExactlyAsync(buffer, cts.Token); // the reset arrives
        }
        catch (Exception e) when (e is StreamResetException or IOException)
        {
            failed = e;
        }
        Assert.NotNull(failed);
        await WaitAsync(() => !blocked.IsEmpty, "the refusal counted", cts.Token);
        var refused = Assert.Single(blocked);
        Assert.Equal(ResourceScopeKind.Stream, refused.Scope);
        Assert.Equal("bytes of memory", refused.Resource);
        Assert.True(peak <= limit, $"peak {peak} over {limit}");
        await WaitAsync(() => b.Resources.System.Usage().MemoryBytes == 0, "the reset stream's memory back", cts.Token);
        Assert.True(await EchoesAsync(connection, cts.Token)); // the connection lives on
    }

    [Fact]
    public async Task The_per_subnet_inbound_count_refuses_the_connection_past_it()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var b = NewHost(Limits(o => o with { InboundSubnets = new InboundSubnetLimits { MaxConnectionsPerSubnet = 2, Exempt = [] } }));
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var dialers = Enumerable.Range(0, 3).Select(_ => NewHost()).ToArray();
        try
        {
            await dialers[0].DialAsync(listener.Addresses[0], cts.Token);
            await dialers[1].DialAsync(listener.Addresses[0], cts.Token);
            await Assert.ThrowsAnyAsync<Exception>(() => dialers[2].DialAsync(listener.Addresses[0], cts.Token));
            await WaitAsync(() => listener.RefusedCount == 1 && b.Connections.Count == 2, "the refusal, and the two adopted", cts.Token);
            await dialers[0].DisposeAsync();
            await WaitAsync(() => b.Resources.System.Usage().ConnectionsInbound == 1, "a slot back", cts.Token);
            var again = await dialers[2].DialAsync(listener.Addresses[0], cts.Token);
            Assert.True(again.IsOpen);
        }
        finally
        {
            foreach (var d in dialers)
                await d.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_per_subnet_inbound_rate_refuses_connections_past_the_burst()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var frozen = new FakeTimeProvider(); // no refill during the test, and no upgrade ever times out
        await using var b = NewHost(Limits(o => o with { InboundSubnets = new InboundSubnetLimits { Burst = 2, ConnectionsPerSecond = 1, Exempt = [] } }), frozen);
        await using var a = NewHost();
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        for (int i = 0; i < 2; i++)
            await (await a.DialAsync(listener.Addresses[0], cts.Token)).CloseAsync(cts.Token);
        await Assert.ThrowsAnyAsync<Exception>(() => a.DialAsync(listener.Addresses[0], cts.Token));
        await WaitAsync(() => listener.RefusedCount == 1, "the refusal", cts.Token);
        frozen.Advance(TimeSpan.FromSeconds(1)); // one token back
        var connection = await a.DialAsync(listener.Addresses[0], cts.Token);
        Assert.True(connection.IsOpen);
    }

    [Fact]
    public async Task The_allowlist_admits_its_addresses_past_full_scopes_and_a_named_peer_only()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var a = NewHost();
        await using var c = NewHost();
        await using var b = NewHost(Limits(o => o with
        {
            Transient = new ResourceLimits { Connections = 0 },
            System = o.System with { Connections = 0 },
            Allowlist = [$"/ip4/127.0.0.1/p2p/{a.LocalPeerId}"],
        }));
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var friend = await a.DialAsync(listener.Addresses[0], cts.Token);
        Assert.True(await EchoesAsync(friend, cts.Token));
        Assert.True(b.Connections.Single().Resources!.IsAllowlisted);

        // c comes from the same address, but its handshake proves another peer: the full scopes refuse it.
        try
        {
            var refused = await c.DialAsync(listener.Addresses[0], cts.Token);
            await Ended(refused.Completion.WaitAsync(cts.Token));
        }
        catch (Exception e) when (e is IOException or P2pException or TimeoutException)
        {
        }
        await WaitAsync(() => b.Resources.Transient.Blocked == 1, "c refused", cts.Token);
        Assert.Single(b.Connections);

        // Without the entry, a is refused too.
        await friend.CloseAsync(cts.Token);
        Assert.True(b.Resources.Allowlist.Remove($"/ip4/127.0.0.1/p2p/{a.LocalPeerId}"));
        await Assert.ThrowsAnyAsync<Exception>(() => a.DialAsync(listener.Addresses[0], cts.Token));
    }

    [Fact]
    public async Task Over_the_process_memory_bound_no_connection_is_made_either_way()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var b = NewHost(Limits(o => o with { MaxProcessMemoryBytes = 1 })); // any process is over one byte
        await using var a = NewHost();
        var aListener = await a.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var bListener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);

        var outbound = await Assert.ThrowsAsync<ResourceLimitExceededException>(() => b.DialAsync(aListener.Addresses[0], cts.Token));
        Assert.Equal(ResourceScopeKind.Process, outbound.Scope);
        Assert.Equal(0, aListener.AcceptedCount); // refused before any socket opened
        await Assert.ThrowsAnyAsync<Exception>(() => a.DialAsync(bListener.Addresses[0], cts.Token));
        await WaitAsync(() => bListener.RefusedCount == 1, "the inbound refusal", cts.Token);
        Assert.Equal(2, b.Resources.ProcessBlocked);

        b.Resources.SetMaxProcessMemory(null);
        Assert.True((await b.DialAsync(aListener.Addresses[0], cts.Token)).IsOpen);
    }

    [Fact]
    public async Task After_churn_of_connects_closes_resets_and_stream_floods_every_scope_is_back_to_zero()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var b = NewHost(Limits(o => o with { PeerDefault = o.PeerDefault with { StreamsInbound = 6 } }));
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var dialers = Enumerable.Range(0, 4).Select(_ => NewHost()).ToArray();
        try
        {
            await Task.WhenAll(dialers.Select(async (d, index) =>
            {
                var random = new Random(index);
                for (int round = 0; round < 15; round++)
                {
                    var connection = await d.DialAsync(listener.Addresses[0], cts.Token);
                    // A flood of streams, some past the peer's limit of 6, some echoing, some held and reset.
                    var streams = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
                    {
                        try
                        {
                            var s = await connection.OpenStreamAsync(random.Next(2) == 0 ? Echo : Hold, cts.Token);
                            await s.WriteAsync(new byte[random.Next(1, 40_000)], cts.Token);
                            return s;
                        }
                        catch (Exception e) when (e is IOException or P2pException)
                        {
                            return null;
                        }
                    }));
                    foreach (var s in streams.OfType<MuxedStream>())
                    {
                        if (random.Next(2) == 0)
                            s.Reset();
                        await s.DisposeAsync();
                    }
                    if (random.Next(2) == 0)
                        await connection.CloseAsync(cts.Token);
                    else
                        await connection.DisposeAsync();
                }
            }));
        }
        finally
        {
            foreach (var d in dialers)
                await d.DisposeAsync();
        }
        foreach (var d in dialers)
            Assert.True(AllEmpty(d), Describe(d));
        await WaitAsync(() => AllEmpty(b), "every scope of the listener back to zero", cts.Token);
        Assert.Empty(b.Resources.GetUsage(ResourceScopeKind.Peer));
    }
}
