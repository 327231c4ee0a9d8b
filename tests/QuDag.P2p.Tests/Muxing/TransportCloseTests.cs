using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Security;
using QuDag.P2p.Security.Noise;
using QuDag.P2p.Security.Tls;
using QuDag.P2p.Tests.Support;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Tests.Muxing;

/// <summary>
/// Closing an upgraded TCP connection (security + yamux) ends it at the socket: the GoAway goes out, then the socket is
/// shut down, so the reader loops on both ends see the end of the stream. No exception is thrown on either end by the
/// close of an idle connection: a pool expiring thousands of them at once paid one per layer per close.
/// </summary>
public sealed class TransportCloseTests
{
    public static TheoryData<string, bool> Cases => new()
    {
        { SecurityProtocols.Noise, false },
        { SecurityProtocols.Noise, true },
        { SecurityProtocols.Tls, false },
        { SecurityProtocols.Tls, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Closing_an_idle_connection_throws_nothing_on_either_end_and_the_remote_sees_GoAway_then_the_end(string security, bool graceful)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var exceptions = new ExceptionsInThisFlow();
        await using var pair = await Pair.ConnectAsync(security, cts.Token);
        P2pConnection dialer = pair.Dialer, listener = pair.Listener;
        exceptions.Start();
        if (graceful)
            await dialer.CloseAsync(cts.Token);
        else
            await dialer.DisposeAsync();
        await listener.Completion.WaitAsync(cts.Token);
        await dialer.Completion.WaitAsync(cts.Token);

        Assert.Equal(YamuxGoAwayCode.Normal, ((YamuxSession)listener.Session).RemoteGoAwayCode);
        Assert.False(listener.IsOpen);
        Assert.True(((YamuxSession)dialer.Session).LoopsEnded);
        await Wait.UntilAsync(() => ((YamuxSession)listener.Session).LoopsEnded, "the listener's loops end");
        Assert.Empty(exceptions.Thrown);
    }

    public static TheoryData<string> Securities => [SecurityProtocols.Noise, SecurityProtocols.Tls];

    /// <summary>
    /// An idle connection's close takes no thread-pool hop of its own before the socket's end: the GoAway is written and
    /// the writer ends on the closing thread, and the accept loop hears the end there too (a pool expiring 10,000
    /// connections paid a drain, a writer-completion wake and an accept wake per close, each a work item).
    /// </summary>
    [Theory]
    [MemberData(nameof(Securities))]
    public async Task Aborting_an_idle_connection_ends_its_writer_and_its_accept_loop_on_the_closing_thread(string security)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var pair = await Pair.ConnectAsync(security, cts.Token);
        P2pConnection dialer = pair.Dialer, listener = pair.Listener;
        var session = (YamuxSession)dialer.Session;
        int acceptEndedOn = 0;
        Task accepting = AcceptUntilTheEndAsync(session, () => acceptEndedOn = Environment.CurrentManagedThreadId);
        Assert.False(accepting.IsCompleted);

        dialer.Abort();

        Assert.Equal(Environment.CurrentManagedThreadId, acceptEndedOn);
        Assert.True(session.Writer.Ended, "the writer ended before Abort returned");
        await accepting;
        await dialer.Completion.WaitAsync(cts.Token);
        await listener.Completion.WaitAsync(cts.Token);
        Assert.Equal(YamuxGoAwayCode.Normal, ((YamuxSession)listener.Session).RemoteGoAwayCode);

        static async Task AcceptUntilTheEndAsync(YamuxSession session, Action ended)
        {
            while (await session.TryAcceptStreamAsync(CancellationToken.None).ConfigureAwait(false) is { } stream)
                stream.Reset();
            ended();
        }
    }

    /// <summary>An upgraded TCP connection's two ends, with the identities and security transports they use; disposed together.</summary>
    private sealed class Pair(NodeIdentity[] identities, ISecurityTransport[] securities, P2pConnection dialer, P2pConnection listener) : IAsyncDisposable
    {
        public P2pConnection Dialer { get; } = dialer;

        public P2pConnection Listener { get; } = listener;

        public static async Task<Pair> ConnectAsync(string security, CancellationToken ct)
        {
            NodeIdentity[] identities = [NodeIdentity.Create(), NodeIdentity.Create()];
            ISecurityTransport[] securities = [SecurityFor(security, identities[0]), SecurityFor(security, identities[1])];
            using var tcp = new TcpListener(IPAddress.Loopback, 0);
            tcp.Start();
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            Task<Socket> accepting = tcp.AcceptSocketAsync(ct).AsTask();
            await client.ConnectAsync((IPEndPoint)tcp.LocalEndpoint, ct);
            Socket server = await accepting;
            Task<P2pConnection> inbound = new Upgrader([securities[1]], [new YamuxMuxer()]).UpgradeInboundAsync(new NetworkStream(server, ownsSocket: true),
                server.LocalEndPoint!, server.RemoteEndPoint!, Stopwatch.GetTimestamp(), ct);
            P2pConnection outbound = await new Upgrader([securities[0]], [new YamuxMuxer()]).UpgradeOutboundAsync(new NetworkStream(client, ownsSocket: true),
                client.LocalEndPoint!, client.RemoteEndPoint!, identities[1].PeerId, Stopwatch.GetTimestamp(), ct);
            return new Pair(identities, securities, outbound, await inbound);
        }

        private static ISecurityTransport SecurityFor(string security, NodeIdentity identity) => security == SecurityProtocols.Noise
            ? new NoiseSecurity(identity, new NoiseSecurityOptions { StreamMuxers = [YamuxMuxer.Id] })
            : new TlsSecurity(identity, new TlsSecurityOptions { StreamMuxers = [YamuxMuxer.Id] });

        public async ValueTask DisposeAsync()
        {
            await Dialer.DisposeAsync();
            await Listener.DisposeAsync();
            foreach (var security in securities)
                ((IDisposable)security).Dispose();
            foreach (var identity in identities)
                identity.Dispose();
        }
    }
}
