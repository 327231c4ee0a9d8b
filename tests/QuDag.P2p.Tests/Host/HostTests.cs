using System.Net;
using System.Net.Sockets;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.Network.Tests;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Tests.Host;

/// <summary>Our node against our node over loopback TCP, in every combination, and the host's own duties.</summary>
public sealed class HostTests
{
    private const string Echo = "/qudag-test/echo/1.0.0";

    public static TheoryData<string, bool> Combinations => new()
    {
        { SecurityProtocols.Noise, true },
        { SecurityProtocols.Noise, false },
        { SecurityProtocols.Tls, true },
        { SecurityProtocols.Tls, false },
    };

    private static P2pHost NewHost(string security, bool earlyMuxer = true, IConnectionGater? gater = null, TimeSpan? connectTimeout = null)
    {
        var host = new P2pHost(new P2pHostOptions
        {
            Security = [security],
            EarlyMuxerNegotiation = earlyMuxer,
            Gater = gater,
            ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(10),
        });
        host.SetStreamHandler(Echo, async (stream, _, ct) =>
        {
            await stream.CopyToAsync(stream, ct);
            await stream.CloseWriteAsync(ct);
        });
        return host;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task Two_nodes_connect_ping_identify_and_echo_both_ways(string security, bool earlyMuxer)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var a = NewHost(security, earlyMuxer);
        await using var b = NewHost(security, earlyMuxer);
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var inbound = new TaskCompletionSource<P2pConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.ConnectionOpened += c => inbound.TrySetResult(c);

        var outbound = await a.DialAsync(listener.Addresses[0], cts.Token);
        var accepted = await inbound.Task.WaitAsync(cts.Token);

        Assert.Equal(b.LocalPeerId, outbound.RemotePeer);
        Assert.Equal(a.LocalPeerId, accepted.RemotePeer);
        Assert.Equal((security, "/yamux/1.0.0"), (outbound.Security, outbound.Muxer));
        Assert.Equal((security, "/yamux/1.0.0"), (accepted.Security, accepted.Muxer));
        Assert.Equal((Direction.Outbound, Direction.Inbound), (outbound.Direction, accepted.Direction));

        foreach (var (host, connection, other) in new[] { (a, outbound, b), (b, accepted, a) })
        {
            Assert.True(await host.PingAsync(connection, cts.Token) > TimeSpan.Zero);
            Assert.True(await host.PingAsync(connection, cts.Token) > TimeSpan.Zero); // the same long-lived stream
            var identify = await host.IdentifyAsync(connection, cts.Token);
            Assert.True(identify.MatchesPeer(other.LocalPeerId));
            Assert.Equal("/qudag/1.0.0", identify.ProtocolVersion);
            Assert.StartsWith("qudag-ps/", identify.AgentVersion);
            Assert.Contains(Echo, identify.Protocols);

            await using var stream = await connection.OpenStreamAsync(Echo, cts.Token);
            Assert.Equal(Echo, stream.Protocol);
            byte[] sent = [.. Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7))];
            var echoed = ReadAllAsync(stream, cts.Token);
            await stream.WriteAsync(sent, cts.Token);
            await stream.CloseWriteAsync(cts.Token);
            Assert.Equal(sent, await echoed);

            await Assert.ThrowsAsync<ProtocolNotSupportedException>(() => connection.OpenStreamAsync("/nobody/1.0.0", cts.Token));
        }
        // The listener announces what a remote dials, and identify told the dialer the same.
        var listenAddrs = (await a.IdentifyAsync(outbound, cts.Token)).ListenAddrs.Select(x => Multiaddr.FromBytes(x)).ToArray();
        Assert.Contains(listener.Addresses[0].WithoutPeerId(), listenAddrs);
    }

    [Fact]
    public async Task A_dialer_that_offers_only_tls_meets_a_noise_first_listener_on_tls()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var a = new P2pHost(new P2pHostOptions { Security = [SecurityProtocols.Tls] });
        await using var b = new P2pHost(new P2pHostOptions { Security = [SecurityProtocols.Noise, SecurityProtocols.Tls] });
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.IPv6Loopback, 0), cts.Token);
        var connection = await a.DialAsync(listener.Addresses[0], cts.Token);
        Assert.Equal(SecurityProtocols.Tls, connection.Security);
        Assert.StartsWith("/ip6/::1/tcp/", listener.Addresses[0].ToString());
    }

    [Fact]
    public async Task ConnectionsTo_walks_only_the_connections_with_that_peer()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var a = NewHost(SecurityProtocols.Noise);
        await using var b = NewHost(SecurityProtocols.Noise);
        await using var c = NewHost(SecurityProtocols.Noise);
        var toB = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var toC = await c.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var first = await a.DialAsync(toB.Addresses[0], cts.Token);
        var second = await a.DialAsync(toB.Addresses[0], cts.Token);
        var other = await a.DialAsync(toC.Addresses[0], cts.Token);

        Assert.Equal(new[] { first, second }.OrderBy(x => x.GetHashCode()), a.ConnectionsTo(b.Identity.PeerId).OrderBy(x => x.GetHashCode()));
        Assert.Equal([other], a.ConnectionsTo(c.Identity.PeerId));
        Assert.Empty(a.ConnectionsTo(a.Identity.PeerId));
        await first.DisposeAsync();
        await WaitAsync(() => a.ConnectionsTo(b.Identity.PeerId).Count() == 1, cts.Token);
        Assert.Equal([second], a.ConnectionsTo(b.Identity.PeerId));
    }

    [Fact]
    public async Task The_gater_is_asked_at_each_stage_and_a_refusal_stops_the_connection_there()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var dialerGate = new RecordingGater();
        var listenerGate = new RecordingGater();
        await using var a = NewHost(SecurityProtocols.Noise, gater: dialerGate);
        await using var b = NewHost(SecurityProtocols.Noise, gater: listenerGate);
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);

        // Allowed: every stage is asked once, in order, on the side it belongs to.
        var ok = await a.DialAsync(listener.Addresses[0], cts.Token);
        await WaitAsync(() => b.Connections.Count == 1, cts.Token);
        Assert.Equal(["peer-dial", "addr-dial", "secured:Outbound"], dialerGate.Calls);
        Assert.Equal(["accept", "secured:Inbound"], listenerGate.Calls);
        await ok.DisposeAsync();
        await WaitAsync(() => b.Connections.Count == 0, cts.Token);

        // Refused before a dial: no socket reaches the listener.
        long accepted = listener.AcceptedCount;
        dialerGate.Refuse = "peer-dial";
        await Assert.ThrowsAsync<ConnectionGatedException>(() => a.DialAsync(listener.Addresses[0], cts.Token));
        dialerGate.Refuse = "addr-dial";
        await Assert.ThrowsAsync<ConnectionGatedException>(() => a.DialAsync(listener.Addresses[0], cts.Token));
        Assert.Equal(accepted, listener.AcceptedCount);

        // Refused by the listener at accept, and after security: the listener keeps nothing, the dialer's
        // connection (if its handshake got that far) ends.
        dialerGate.Refuse = null;
        foreach (var stage in new[] { "accept", "secured:Inbound" })
        {
            listenerGate.Refuse = stage;
            try
            {
                var refused = await a.DialAsync(listener.Addresses[0], cts.Token);
                await refused.Completion.WaitAsync(cts.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            catch (Exception ex) when (ex is P2pException or IOException or SocketException)
            {
            }
            await WaitAsync(() => a.Connections.Count == 0, cts.Token);
            Assert.Empty(b.Connections);
        }

        // Our dialer refusing the peer it authenticated.
        listenerGate.Refuse = null;
        dialerGate.Refuse = "secured:Outbound";
        await Assert.ThrowsAsync<ConnectionGatedException>(() => a.DialAsync(listener.Addresses[0], cts.Token));
        Assert.Empty(a.Connections);
    }

    [Fact]
    public async Task A_peer_that_drips_bytes_is_cut_off_at_the_upgrade_deadline()
    {
        // On a test clock, so what is asserted is the deadline itself and not how fast a loaded machine runs: the
        // start of a valid multistream header, one byte per 100 ms, keeps the connection busy but never finishes.
        // At 799 ms the upgrade still answers; at 800 ms it is closed, however recently a byte came.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var time = new TimerWatchingTimeProvider();
        var deadline = TimeSpan.FromMilliseconds(800);
        await using var host = new P2pHost(new P2pHostOptions { Security = [SecurityProtocols.Noise], ConnectTimeout = deadline, TimeProvider = time });
        var listener = await host.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint, cts.Token);
        await WaitAsync(() => time.TimersCreated(deadline) == 1, cts.Token); // the upgrade started its clock

        byte[] header = [0x13, .. "/multistream/1.0.0\n"u8];
        for (int i = 0; i < 7; i++)
        {
            await client.SendAsync(header.AsMemory(i, 1), SocketFlags.None, cts.Token);
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        time.Advance(TimeSpan.FromMilliseconds(99));
        byte[] proposal = [0x07, .. "/noise\n"u8];
        await client.SendAsync((byte[])[.. header.AsSpan(7), .. proposal], SocketFlags.None, cts.Token);
        var received = new List<byte>();
        var buffer = new byte[256];
        while (!received.ToArray().AsSpan().EndsWith(proposal)) // the host answers: the upgrade is alive at 799 ms
        {
            int n = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            Assert.True(n > 0, "the host closed the upgrade before its deadline");
            received.AddRange(buffer.AsSpan(0, n));
        }

        time.Advance(TimeSpan.FromMilliseconds(1)); // 800 ms: the host now waits for the Noise handshake in vain
        try
        {
            while (await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token) > 0)
            {
            }
        }
        catch (SocketException)
        {
        }
        Assert.Empty(host.Connections);
    }

    [Fact]
    public async Task A_ping_stream_the_remote_dropped_is_replaced_and_the_ping_still_answers()
    {
        // As js-libp2p does 10 s after a ping stream opened: serve one round, then reset the stream at the next one.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var a = NewHost(SecurityProtocols.Noise);
        await using var b = NewHost(SecurityProtocols.Noise);
        int streams = 0;
        b.SetStreamHandler(QuDag.P2p.Protocols.Ping.PingProtocol.Id, async (stream, _, ct) =>
        {
            Interlocked.Increment(ref streams);
            byte[] payload = new byte[32];
            await stream.ReadExactlyAsync(payload, ct);
            await stream.WriteAsync(payload, ct);
            await stream.ReadExactlyAsync(payload, ct);
            stream.Reset();
        });
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var connection = await a.DialAsync(listener.Addresses[0], cts.Token);

        for (int i = 0; i < 3; i++)
            Assert.True(await a.PingAsync(connection, cts.Token) > TimeSpan.Zero);
        Assert.Equal(3, Volatile.Read(ref streams)); // each ping after the first found its stream dropped and took a fresh one

        // A ping abandoned mid-round leaves its stream out of step: the next ping does not inherit that.
        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a.PingAsync(connection, cancelled.Token));
        }
        Assert.True(await a.PingAsync(connection, cts.Token) > TimeSpan.Zero);
        Assert.True(connection.IsOpen);
    }

    [Fact]
    public async Task Disposing_a_host_closes_its_connections_and_stops_its_listeners()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var a = NewHost(SecurityProtocols.Noise);
        await using var b = NewHost(SecurityProtocols.Noise);
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var connection = await a.DialAsync(listener.Addresses[0], cts.Token);
        var stream = await connection.OpenStreamAsync(Echo, cts.Token);
        var pending = stream.ReadAsync(new byte[16], cts.Token).AsTask();

        await a.DisposeAsync();

        Assert.False(connection.IsOpen);
        await Assert.ThrowsAnyAsync<Exception>(() => pending);
        await WaitAsync(() => b.Connections.Count == 0, cts.Token);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => a.DialAsync(listener.Addresses[0], cts.Token));
        await Assert.ThrowsAsync<ArgumentException>(() => b.DialAsync(listener.Addresses[0], cts.Token)); // itself
    }

    [Fact]
    public async Task One_address_holding_its_share_of_pending_upgrades_cannot_starve_another()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        // A frozen clock: the silent sockets' upgrades never reach their deadline, so only the cap frees slots.
        var frozen = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var host = new P2pHost(new P2pHostOptions
        {
            Security = [SecurityProtocols.Noise],
            MaxPendingInboundUpgrades = 8,
            MaxPendingInboundUpgradesPerAddress = 4,
            TimeProvider = frozen,
        });
        var refused = new System.Collections.Concurrent.ConcurrentQueue<(EndPoint Remote, Exception Error)>();
        host.InboundUpgradeFailed += (remote, error) => refused.Enqueue((remote, error));
        var listener = await host.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);

        // 127.0.0.2 opens as many sockets as there are slots in all, and never speaks.
        var attacker = IPAddress.Parse("127.0.0.2");
        var silent = new List<Socket>();
        try
        {
            for (int i = 0; i < 8; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                silent.Add(socket);
                socket.Bind(new IPEndPoint(attacker, 0));
                await socket.ConnectAsync(listener.LocalEndPoint, cts.Token);
            }
            await WaitAsync(() => listener.AcceptedCount == 8 && listener.RefusedCount == 4, cts.Token);
            Assert.All(refused, r =>
            {
                Assert.Equal(attacker, ((IPEndPoint)r.Remote).Address);
                var limit = Assert.IsType<QuDag.P2p.Resources.ResourceLimitExceededException>(r.Error);
                Assert.Equal(QuDag.P2p.Resources.ResourceScopeKind.Subnet, limit.Scope);
                Assert.Equal("127.0.0.2/32", limit.ScopeName);
                Assert.Equal("pending inbound connections", limit.Resource);
            });
            Assert.Equal(4, refused.Count);

            // The refused sockets were closed at once: their reads end (0 bytes, or a reset).
            var refusedPorts = refused.Select(r => ((IPEndPoint)r.Remote).Port).ToHashSet();
            var closed = silent.Where(socket => refusedPorts.Contains(((IPEndPoint)socket.LocalEndPoint!).Port)).ToArray();
            Assert.Equal(4, closed.Length);
            foreach (var socket in closed)
            {
                try
                {
                    Assert.Equal(0, await socket.ReceiveAsync(new byte[1], SocketFlags.None, cts.Token));
                }
                catch (SocketException)
                {
                }
            }

            // 127.0.0.1 still upgrades in a free slot while 127.0.0.2 holds its four.
            await using var honest = NewHost(SecurityProtocols.Noise);
            var connection = await honest.DialAsync(listener.Addresses[0], cts.Token);
            Assert.True(connection.IsOpen);
            Assert.Equal(4, listener.RefusedCount);
        }
        finally
        {
            foreach (var socket in silent)
                socket.Dispose();
        }
    }

    [Fact]
    public async Task Concurrent_first_pings_and_identifies_on_a_fresh_connection_all_answer_and_identify_is_asked_once()
    {
        // The ping lock is made on the first ping and the identify request is dropped once answered (the message
        // stays): both must hold when many callers arrive at once on a connection that has neither yet.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var a = new P2pHost(new P2pHostOptions { Security = [SecurityProtocols.Noise], IdentifyOnConnect = false });
        await using var b = NewHost(SecurityProtocols.Noise);
        int asked = 0;
        b.SetStreamHandler(QuDag.P2p.Protocols.Identify.IdentifyProtocol.Id, async (stream, _, ct) =>
        {
            Interlocked.Increment(ref asked);
            await QuDag.P2p.Protocols.Identify.IdentifyProtocol.WriteAsync(stream, new QuDag.P2p.Protocols.Identify.IdentifyMessage
            {
                PublicKey = b.Identity.PublicKey.ToProtobuf(),
                ProtocolVersion = "/qudag/1.0.0",
            }, ct);
        });
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var connection = await a.DialAsync(listener.Addresses[0], cts.Token);

        var pings = Enumerable.Range(0, 16).Select(_ => Task.Run(() => a.PingAsync(connection, cts.Token))).ToArray();
        var identifies = Enumerable.Range(0, 16).Select(_ => Task.Run(() => a.IdentifyAsync(connection, cts.Token))).ToArray();
        Assert.All(await Task.WhenAll(pings), rtt => Assert.True(rtt > TimeSpan.Zero));
        var messages = await Task.WhenAll(identifies);
        Assert.All(messages, m => Assert.Same(messages[0], m));
        Assert.True(messages[0].MatchesPeer(b.LocalPeerId));
        Assert.Equal(1, Volatile.Read(ref asked));

        // Answered: later calls get the kept message without asking again.
        Assert.Same(messages[0], await a.IdentifyAsync(connection, cts.Token));
        Assert.Equal(1, Volatile.Read(ref asked));
    }

    [Fact]
    public async Task Disposing_a_host_returns_after_every_connection_was_reported_closed_and_every_stream_task_ended()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var a = NewHost(SecurityProtocols.Noise);
        await using var b = NewHost(SecurityProtocols.Noise);
        var served = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int handlersEnded = 0;
        a.SetStreamHandler("/qudag-test/hold/1.0.0", async (stream, _, ct) =>
        {
            try
            {
                served.TrySetResult();
                await stream.ReadExactlyAsync(new byte[1], ct); // until the host closes the stream
            }
            finally
            {
                Interlocked.Increment(ref handlersEnded);
            }
        });
        var closed = new List<P2pConnection>();
        a.ConnectionClosed += c => { lock (closed) closed.Add(c); };
        var listener = await a.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        var inbound = new TaskCompletionSource<P2pConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        a.ConnectionOpened += c => inbound.TrySetResult(c);
        var outbound = await b.DialAsync(listener.Addresses[0], cts.Token);
        var accepted = await inbound.Task.WaitAsync(cts.Token);
        await using var held = await outbound.OpenStreamAsync("/qudag-test/hold/1.0.0", cts.Token);
        await served.Task.WaitAsync(cts.Token);

        await a.DisposeAsync().AsTask().WaitAsync(cts.Token);

        lock (closed) Assert.Equal([accepted], closed);
        Assert.Equal(1, Volatile.Read(ref handlersEnded));
        Assert.Empty(a.Connections);
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }

    private static async Task WaitAsync(Func<bool> condition, CancellationToken ct)
    {
        while (!condition())
        {
            ct.ThrowIfCancellationRequested();
            await Task.Delay(5, ct);
        }
    }

    private sealed class RecordingGater : IConnectionGater
    {
        private readonly List<string> _calls = [];

        public volatile string? Refuse;

        public string[] Calls { get { lock (_calls) return [.. _calls]; } }

        private bool Record(string stage)
        {
            lock (_calls) _calls.Add(stage);
            return Refuse != stage;
        }

        public bool InterceptPeerDial(PeerId peer) => Record("peer-dial");

        public bool InterceptAddrDial(PeerId? peer, EndPoint address) => Record("addr-dial");

        public bool InterceptAccept(EndPoint local, EndPoint remote) => Record("accept");

        public bool InterceptSecured(Direction direction, PeerId peer, EndPoint remote) => Record($"secured:{direction}");
    }
}
