using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Transport.Tcp;

namespace QuDag.P2p.Tests.Transport;

public class TcpTransportTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static async Task AssertConnectedAsync(Socket client, Socket server)
    {
        Assert.True(client.NoDelay);
        Assert.True(server.NoDelay);
        await client.SendAsync("ping"u8.ToArray());
        byte[] buffer = new byte[4];
        int read = 0;
        while (read < 4)
            read += await server.ReceiveAsync(buffer.AsMemory(read)).AsTask().WaitAsync(Bound);
        Assert.Equal("ping"u8.ToArray(), buffer);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task Dials_a_listener_and_carries_bytes(string address)
    {
        await using var listener = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Parse(address), 0));
        Assert.NotEqual(0, listener.LocalEndPoint.Port);
        var accept = listener.AcceptAsync(CancellationToken.None).AsTask();
        using var client = await TcpTransport.Default.DialAsync(listener.LocalEndPoint, Bound, CancellationToken.None);
        using var server = await accept.WaitAsync(Bound);
        Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
        await AssertConnectedAsync(client, server);
    }

    [Fact]
    public async Task A_dual_stack_listener_accepts_IPv4_as_mapped_addresses()
    {
        await using var listener = TcpTransportListener.Listen(new IPEndPoint(IPAddress.IPv6Any, 0));
        var accept = listener.AcceptAsync(CancellationToken.None).AsTask();
        using var client = await TcpTransport.Default.DialAsync(new IPEndPoint(IPAddress.Loopback, listener.LocalEndPoint.Port), Bound, CancellationToken.None);
        using var server = await accept.WaitAsync(Bound);
        Assert.True(((IPEndPoint)server.RemoteEndPoint!).Address.IsIPv4MappedToIPv6);
        await AssertConnectedAsync(client, server);
    }

    [Fact]
    public async Task Dials_a_name_through_its_resolved_addresses()
    {
        await using var listener = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        var accept = listener.AcceptAsync(CancellationToken.None).AsTask();
        using var client = await TcpTransport.Default.DialAsync(new DnsEndPoint("localhost", listener.LocalEndPoint.Port), Bound, CancellationToken.None);
        using var server = await accept.WaitAsync(Bound);
        await AssertConnectedAsync(client, server);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_is_an_AddressResolutionException()
    {
        var ex = await Assert.ThrowsAsync<AddressResolutionException>(
            () => TcpTransport.Default.DialAsync(new DnsEndPoint("no-such-host.invalid", 4001), Bound, CancellationToken.None).WaitAsync(Bound));
        Assert.Equal("name not resolved: no-such-host.invalid", ex.Message);
        Assert.Equal("no-such-host.invalid", ex.Host);
    }

    [Fact]
    public async Task A_refused_dial_is_a_DialFailedException_naming_the_address()
    {
        var closed = ClosedPort();
        var ex = await Assert.ThrowsAsync<DialFailedException>(
            () => TcpTransport.Default.DialAsync(closed, Bound, CancellationToken.None).WaitAsync(Bound));
        Assert.Equal(SocketError.ConnectionRefused, ex.SocketError);
        Assert.Equal(closed, ex.EndPoint);
        Assert.Contains(closed.ToString(), ex.Message);
        Assert.IsType<SocketException>(ex.InnerException);
    }

    [Fact]
    public async Task A_connect_that_outlasts_the_timeout_is_a_TimeoutException_naming_the_address()
    {
        var time = new FakeTimeProvider();
        var transport = new TcpTransport(time);
        await using var listener = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0), backlog: 1);
        var (pending, filled) = await DialUntilBacklogIsFullAsync(transport, listener.LocalEndPoint, TimeSpan.FromSeconds(5), CancellationToken.None);
        try
        {
            time.Advance(TimeSpan.FromSeconds(5));
            var ex = await Assert.ThrowsAsync<TimeoutException>(() => pending.WaitAsync(Bound));
            Assert.Contains(listener.LocalEndPoint.ToString(), ex.Message);
        }
        finally
        {
            filled.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task A_cancelled_dial_is_an_OperationCanceledException_not_a_timeout()
    {
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => TcpTransport.Default.DialAsync(ClosedPort(), Bound, new CancellationToken(true)));

        var time = new FakeTimeProvider();
        await using var listener = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0), backlog: 1);
        using var cts = new CancellationTokenSource();
        var (pending, filled) = await DialUntilBacklogIsFullAsync(new TcpTransport(time), listener.LocalEndPoint, TimeSpan.FromSeconds(5), cts.Token);
        try
        {
            cts.Cancel();
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(Bound));
            Assert.Equal(cts.Token, ex.CancellationToken);
        }
        finally
        {
            filled.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task Listening_on_a_port_in_use_is_a_ListenFailedException_naming_the_address()
    {
        await using var first = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        var ex = Assert.Throws<ListenFailedException>(() => TcpTransportListener.Listen(first.LocalEndPoint));
        Assert.Equal(SocketError.AddressAlreadyInUse, ex.SocketError);
        Assert.Contains(first.LocalEndPoint.ToString(), ex.Message);
        Assert.Contains("already in use", ex.Message);
    }

    [Fact]
    public async Task Accept_stops_on_cancellation_and_on_dispose()
    {
        var listener = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        using (var cts = new CancellationTokenSource())
        {
            var accept = listener.AcceptAsync(cts.Token).AsTask();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => accept.WaitAsync(Bound));
        }

        var pending = listener.AcceptAsync(CancellationToken.None).AsTask();
        await listener.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending.WaitAsync(Bound));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => listener.AcceptAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task Bad_arguments_are_refused()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => TcpTransport.Default.DialAsync(ClosedPort(), TimeSpan.Zero, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => TcpTransport.Default.DialAsync(new UnixDomainSocketEndPoint("/tmp/x"), Bound, CancellationToken.None));
    }

    /// <summary>A loopback address nothing listens on: a port the system just handed out and took back.</summary>
    internal static IPEndPoint ClosedPort()
    {
        using var probe = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        return probe.LocalEndPoint;
    }

    /// <summary>
    /// Dials a listener that never accepts until the kernel's accept queue is full and a dial stays pending
    /// (Linux drops the SYN then). Returns the pending dial and the connected sockets, which the caller disposes.
    /// A dial counts as pending when it has not completed within a second: should a slow but live connect be
    /// mistaken for one, the caller's timeout or cancellation still ends it the way the test expects.
    /// </summary>
    internal static async Task<(Task<Socket> Pending, List<Socket> Filled)> DialUntilBacklogIsFullAsync(
        TcpTransport transport, IPEndPoint endPoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var filled = new List<Socket>();
        for (int i = 0; i < 64; i++)
        {
            var dial = transport.DialAsync(endPoint, timeout, cancellationToken);
            if (await Task.WhenAny(dial, Task.Delay(TimeSpan.FromSeconds(1))) != dial)
                return (dial, filled);
            filled.Add(await dial);
        }
        filled.ForEach(s => s.Dispose());
        throw new InvalidOperationException("The accept queue never filled up.");
    }
}
