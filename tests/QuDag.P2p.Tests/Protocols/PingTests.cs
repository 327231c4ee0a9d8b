using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Protocols.Ping;
using QuDag.P2p.Tests.Support;
using QuDag.P2p.Transport.Tcp;
using QuDag.P2p.Upgrade.Multistream;

namespace QuDag.P2p.Tests.Protocols;

public class PingTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>A server that reads one payload, lets <paramref name="beforeEcho"/> spoil or delay it, and echoes.</summary>
    private static async Task EchoOnceAsync(Stream stream, Action<byte[]> beforeEcho)
    {
        byte[] payload = new byte[PingProtocol.PayloadSize];
        await stream.ReadExactlyAsync(payload);
        beforeEcho(payload);
        await stream.WriteAsync(payload);
    }

    [Fact]
    public async Task Repeated_pings_on_one_stream_round_trip_and_the_server_ends_at_the_clients_close()
    {
        var (client, server) = Duplex.CreatePair();
        var handler = PingProtocol.HandleAsync(server, CancellationToken.None);
        await using (var ping = new PingClient(client))
        {
            for (int i = 0; i < 5; i++)
                Assert.True(await ping.PingAsync(CancellationToken.None).AsTask().WaitAsync(Bound) >= TimeSpan.Zero);
        }
        await handler.WaitAsync(Bound);
    }

    [Fact]
    public async Task Pings_round_trip_over_loopback_tcp_after_multistream_negotiation()
    {
        await using var listener = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        var accept = listener.AcceptAsync(CancellationToken.None).AsTask();
        var client = await TcpTransport.Default.DialAsync(listener.LocalEndPoint, Bound, CancellationToken.None);
        using var accepted = await accept.WaitAsync(Bound);
        await using var serverStream = new NetworkStream(accepted, ownsSocket: false);
        var handler = Task.Run(async () =>
        {
            await MultistreamSelect.HandleAsync(serverStream, [PingProtocol.Id], CancellationToken.None);
            await PingProtocol.HandleAsync(serverStream, CancellationToken.None);
        });
        var clientStream = new NetworkStream(client, ownsSocket: true);
        Assert.Equal(PingProtocol.Id, await MultistreamSelect.SelectAsync(clientStream, [PingProtocol.Id], CancellationToken.None).WaitAsync(Bound));
        await using (var ping = new PingClient(clientStream))
        {
            for (int i = 0; i < 3; i++)
                await ping.PingAsync(CancellationToken.None).AsTask().WaitAsync(Bound);
        }
        await handler.WaitAsync(Bound);
    }

    [Fact]
    public async Task The_round_trip_is_measured_on_the_injected_clock()
    {
        var time = new FakeTimeProvider();
        var (client, server) = Duplex.CreatePair();
        var echo = EchoOnceAsync(server, _ => time.Advance(TimeSpan.FromMilliseconds(7)));
        await using var ping = new PingClient(client, time);
        Assert.Equal(TimeSpan.FromMilliseconds(7), await ping.PingAsync(CancellationToken.None).AsTask().WaitAsync(Bound));
        await echo;
    }

    [Fact]
    public async Task A_wrong_echo_is_a_protocol_error_and_the_client_refuses_further_pings()
    {
        var (client, server) = Duplex.CreatePair();
        var echo = EchoOnceAsync(server, payload => payload[31] ^= 1);
        await using var ping = new PingClient(client);
        await Assert.ThrowsAsync<P2pProtocolException>(() => ping.PingAsync(CancellationToken.None).AsTask().WaitAsync(Bound));
        await echo;
        var again = await Assert.ThrowsAsync<P2pException>(() => ping.PingAsync(CancellationToken.None).AsTask());
        Assert.Contains("out of step", again.Message);
    }

    [Fact]
    public async Task A_server_that_closes_before_echoing_is_a_protocol_error()
    {
        var (client, server) = Duplex.CreatePair();
        await using var ping = new PingClient(client);
        var attempt = ping.PingAsync(CancellationToken.None).AsTask();
        await server.ReadExactlyAsync(new byte[PingProtocol.PayloadSize]).AsTask().WaitAsync(Bound);
        await server.WriteAsync(new byte[10]);
        server.Dispose();
        await Assert.ThrowsAsync<P2pProtocolException>(() => attempt.WaitAsync(Bound));
    }

    [Fact]
    public async Task A_cancelled_ping_stops_and_leaves_the_client_refusing_further_pings()
    {
        var (client, server) = Duplex.CreatePair();
        await using var ping = new PingClient(client);
        using var cts = new CancellationTokenSource();
        var attempt = ping.PingAsync(cts.Token).AsTask();
        await server.ReadExactlyAsync(new byte[PingProtocol.PayloadSize]).AsTask().WaitAsync(Bound); // sent; no echo comes
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => attempt.WaitAsync(Bound));
        await Assert.ThrowsAsync<P2pException>(() => ping.PingAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task Concurrent_pings_take_turns_so_every_echo_matches_its_ping()
    {
        var (client, server) = Duplex.CreatePair();
        var handler = PingProtocol.HandleAsync(server, CancellationToken.None);
        await using (var ping = new PingClient(client))
        {
            var pings = Enumerable.Range(0, 32).Select(_ => Task.Run(() => ping.PingAsync(CancellationToken.None).AsTask()));
            var rtts = await Task.WhenAll(pings).WaitAsync(Bound);
            Assert.Equal(32, rtts.Length);
        }
        await handler.WaitAsync(Bound);
    }

    [Fact]
    public async Task The_server_echoes_exactly_32_bytes_per_round_and_ends_quietly_on_a_partial_payload()
    {
        var (client, server) = Duplex.CreatePair();
        var handler = PingProtocol.HandleAsync(server, CancellationToken.None);
        byte[] two = new byte[64];
        Random.Shared.NextBytes(two);
        await client.WriteAsync(two.Concat(new byte[] { 1, 2, 3 }).ToArray());
        byte[] echoed = new byte[64];
        await client.ReadExactlyAsync(echoed).AsTask().WaitAsync(Bound);
        Assert.Equal(two, echoed);

        client.Dispose();                  // 3 stray bytes, then the end: nothing to answer
        await handler.WaitAsync(Bound);
    }

    [Fact]
    public async Task The_server_stops_when_cancelled_while_idle()
    {
        var (client, server) = Duplex.CreatePair();
        using var cts = new CancellationTokenSource();
        var handler = PingProtocol.HandleAsync(server, cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => handler.WaitAsync(Bound));
        client.Dispose();
    }

    [Fact]
    public async Task A_disposed_client_refuses_pings()
    {
        var (client, _) = Duplex.CreatePair();
        var ping = new PingClient(client);
        await ping.DisposeAsync();
        await ping.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => ping.PingAsync(CancellationToken.None).AsTask());
        Assert.Equal(PingProtocol.Id, "/ipfs/ping/1.0.0");
    }
}
