using System.Security.Cryptography;
using QuDag.P2p.Identity;
using QuDag.P2p.Security;
using QuDag.P2p.Tests.Support;

namespace QuDag.P2p.Tests.Security;

/// <summary>
/// What every libp2p security transport must do, run against each one (as go-libp2p's shared transport
/// suites are): authenticate both ways over memory and TCP, refuse the wrong peer and close both ends, carry
/// bulk data byte-exact in both directions at once, and meet broken, hostile, silent or cancelled peers with
/// a typed error within a bounded time.
/// </summary>
public abstract class SecurityTransportConformance : IDisposable
{
    protected static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    protected readonly NodeIdentity Alice = NodeIdentity.Create();
    protected readonly NodeIdentity Bob = NodeIdentity.Create();
    protected readonly NodeIdentity Carol = NodeIdentity.Create();
    private readonly List<IDisposable> _owned = [];

    /// <summary>A transport of the protocol under test for <paramref name="identity"/>.</summary>
    protected abstract ISecurityTransport CreateTransport(NodeIdentity identity, TimeSpan handshakeTimeout, TimeProvider clock);

    protected abstract string ExpectedProtocolId { get; }

    protected ISecurityTransport Create(NodeIdentity identity, TimeSpan? handshakeTimeout = null, TimeProvider? clock = null)
    {
        var transport = CreateTransport(identity, handshakeTimeout ?? TimeSpan.FromSeconds(10), clock ?? TimeProvider.System);
        if (transport is IDisposable disposable) _owned.Add(disposable);
        return transport;
    }

    protected static async Task<(SecuredChannel Dialer, SecuredChannel Listener)> HandshakeAsync(
        ISecurityTransport dialer, Stream dialerStream, ISecurityTransport listener, Stream listenerStream, PeerId? expected)
    {
        var inbound = listener.SecureInboundAsync(listenerStream, CancellationToken.None);
        var outbound = dialer.SecureOutboundAsync(dialerStream, expected, CancellationToken.None);
        return (await outbound.WaitAsync(Bound), await inbound.WaitAsync(Bound));
    }

    private static async Task AssertExchangeAsync(SecuredChannel one, SecuredChannel other)
    {
        byte[] ping = "ping from the dialer"u8.ToArray(), pong = "pong from the listener"u8.ToArray();
        await one.Stream.WriteAsync(ping);
        await one.Stream.FlushAsync();
        Assert.Equal(ping, await ReadExactlyAsync(other.Stream, ping.Length));
        await other.Stream.WriteAsync(pong);
        await other.Stream.FlushAsync();
        Assert.Equal(pong, await ReadExactlyAsync(one.Stream, pong.Length));
    }

    protected static async Task<byte[]> ReadExactlyAsync(Stream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Bound);
        return buffer;
    }

    [Fact]
    public async Task Handshake_over_memory_authenticates_both_sides_in_both_directions()
    {
        foreach (var (dialerId, listenerId) in new[] { (Alice, Bob), (Bob, Alice) })
        {
            var (left, right) = Duplex.CreatePair();
            var (dialer, listener) = await HandshakeAsync(Create(dialerId), left, Create(listenerId), right, listenerId.PeerId);
            await using (dialer.Stream)
            await using (listener.Stream)
            {
                Assert.Equal(listenerId.PeerId, dialer.RemotePeer);
                Assert.Equal(dialerId.PeerId, listener.RemotePeer);
                Assert.Equal(listenerId.PublicKey, dialer.RemoteKey);
                Assert.Equal(dialerId.PublicKey, listener.RemoteKey);
                Assert.Equal(ExpectedProtocolId, dialer.Protocol);
                Assert.Equal(ExpectedProtocolId, listener.Protocol);
                await AssertExchangeAsync(dialer, listener);
            }
        }
    }

    [Fact]
    public async Task Handshake_over_loopback_tcp_authenticates_and_carries_data()
    {
        var (left, right) = await TcpPair.CreateAsync();
        var (dialer, listener) = await HandshakeAsync(Create(Alice), left, Create(Bob), right, expected: null);
        await using (dialer.Stream)
        await using (listener.Stream)
        {
            Assert.Equal(Bob.PeerId, dialer.RemotePeer);
            Assert.Equal(Alice.PeerId, listener.RemotePeer);
            await AssertExchangeAsync(dialer, listener);
        }
    }

    [Fact]
    public async Task Expected_peer_mismatch_fails_the_dialer_and_closes_both_streams()
    {
        var (left, right) = Duplex.CreatePair();
        var dialerStream = new TrackingStream(left);
        var listenerStream = new TrackingStream(right);
        var inbound = Create(Bob).SecureInboundAsync(listenerStream, CancellationToken.None);
        var outbound = Create(Alice).SecureOutboundAsync(dialerStream, Carol.PeerId, CancellationToken.None);

        var mismatch = await Assert.ThrowsAsync<PeerIdMismatchException>(() => outbound.WaitAsync(Bound));
        Assert.Equal(Carol.PeerId, mismatch.Expected);
        Assert.Equal(Bob.PeerId, mismatch.Actual);
        Assert.True(dialerStream.IsDisposed);
        await AssertListenerEndsAsync(inbound);
        Assert.True(listenerStream.IsDisposed);
    }

    /// <summary>
    /// The listener of a refused dial fails its handshake, or (TLS 1.3, where the client checks the server's
    /// certificate after sending its Finished) completes it and then finds the connection closed.
    /// </summary>
    private static async Task AssertListenerEndsAsync(Task<SecuredChannel> inbound)
    {
        SecuredChannel channel;
        try
        {
            channel = await inbound.WaitAsync(Bound);
        }
        catch (P2pException)
        {
            return;
        }
        await using (channel.Stream)
        {
            try
            {
                Assert.Equal(0, await channel.Stream.ReadAsync(new byte[16]).AsTask().WaitAsync(Bound));
            }
            catch (Exception ex) when (ex is IOException or P2pException) { }
        }
    }

    [Fact]
    public async Task Sixteen_MiB_cross_byte_exact_in_both_directions_at_once()
    {
        const int size = 16 << 20;
        var (left, right) = await TcpPair.CreateAsync();
        var (dialer, listener) = await HandshakeAsync(Create(Alice), left, Create(Bob), right, Bob.PeerId);
        await using (dialer.Stream)
        await using (listener.Stream)
        {
            byte[] up = RandomNumberGenerator.GetBytes(size), down = RandomNumberGenerator.GetBytes(size);
            var transfers = new[]
            {
                SendAsync(dialer.Stream, up), SendAsync(listener.Stream, down),
                ReceiveHashAsync(listener.Stream, size), ReceiveHashAsync(dialer.Stream, size),
            };
            await Task.WhenAll(transfers).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(SHA256.HashData(up), await (Task<byte[]>)transfers[2]);
            Assert.Equal(SHA256.HashData(down), await (Task<byte[]>)transfers[3]);
        }

        static async Task SendAsync(Stream stream, byte[] data)
        {
            // Uneven write sizes cross every frame and record boundary.
            int offset = 0, step = 1;
            while (offset < data.Length)
            {
                int n = Math.Min(data.Length - offset, step * 7919);
                await stream.WriteAsync(data.AsMemory(offset, n));
                offset += n;
                step = step % 300 + 1;
            }
            await stream.FlushAsync();
        }

        static async Task<byte[]> ReceiveHashAsync(Stream stream, int size)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[50_000];
            int total = 0;
            while (total < size)
            {
                int n = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, size - total)));
                Assert.True(n > 0, "the stream ended early");
                hash.AppendData(buffer, 0, n);
                total += n;
            }
            return hash.GetHashAndReset();
        }
    }

    [Fact]
    public async Task A_connection_closed_mid_handshake_fails_the_dialer_quickly_with_a_typed_error()
    {
        var (left, right) = Duplex.CreatePair();
        var dialerStream = new TrackingStream(left);
        var outbound = Create(Alice).SecureOutboundAsync(dialerStream, null, CancellationToken.None);
        // The remote reads the first flight and hangs up.
        var buffer = new byte[4096];
        Assert.True(await right.ReadAsync(buffer).AsTask().WaitAsync(Bound) > 0);
        right.Dispose();
        await Assert.ThrowsAnyAsync<P2pException>(() => outbound.WaitAsync(Bound));
        Assert.True(dialerStream.IsDisposed);
    }

    [Fact]
    public async Task A_connection_closed_mid_handshake_fails_the_listener_quickly_with_a_typed_error()
    {
        var (left, right) = Duplex.CreatePair();
        var listenerStream = new TrackingStream(right);
        var inbound = Create(Bob).SecureInboundAsync(listenerStream, CancellationToken.None);
        left.Dispose();
        await Assert.ThrowsAnyAsync<P2pException>(() => inbound.WaitAsync(Bound));
        Assert.True(listenerStream.IsDisposed);
    }

    [Fact]
    public async Task A_tampered_byte_in_transport_data_is_a_protocol_error_and_closes_the_stream()
    {
        await using var relay = new TamperingRelay();
        var (dialer, listener) = await HandshakeAsync(Create(Alice), relay.Dialer, Create(Bob), relay.Listener, Bob.PeerId);
        await using (dialer.Stream)
        await using (listener.Stream)
        {
            await AssertExchangeAsync(dialer, listener);
            relay.TamperWithNextChunk();
            await dialer.Stream.WriteAsync(new byte[1000]);
            await dialer.Stream.FlushAsync();
            var buffer = new byte[1000];
            await Assert.ThrowsAsync<P2pProtocolException>(async () =>
            {
                while (await listener.Stream.ReadAsync(buffer).AsTask().WaitAsync(Bound) > 0) { }
            });
            await Assert.ThrowsAnyAsync<Exception>(async () => await listener.Stream.ReadAsync(buffer).AsTask().WaitAsync(Bound));
        }
    }

    public static TheoryData<string> HostileOpenings => ["garbage", "oversize", "truncated"];

    [Theory]
    [MemberData(nameof(HostileOpenings))]
    public async Task Hostile_bytes_to_the_listener_give_a_typed_error_and_no_hang(string kind)
    {
        var (left, right) = Duplex.CreatePair();
        var listenerStream = new TrackingStream(right);
        var inbound = Create(Bob, TimeSpan.FromMilliseconds(500)).SecureInboundAsync(listenerStream, CancellationToken.None);
        byte[] opening = kind switch
        {
            "garbage" => RandomNumberGenerator.GetBytes(4096),
            // A length prefix far beyond what follows, and then silence: the handshake timeout must end it.
            "oversize" => [0xFF, 0xFF, 0x16, 0x03, 0x01, 0xFF, 0xFF, .. RandomNumberGenerator.GetBytes(100)],
            _ => (await CaptureFirstFlightAsync())[..^7],
        };
        await left.WriteAsync(opening);
        if (kind != "oversize") left.Dispose();
        await Assert.ThrowsAnyAsync<P2pException>(() => inbound.WaitAsync(Bound));
        Assert.True(listenerStream.IsDisposed);
        left.Dispose();
    }

    [Theory]
    [MemberData(nameof(HostileOpenings))]
    public async Task Hostile_bytes_to_the_dialer_give_a_typed_error_and_no_hang(string kind)
    {
        var (left, right) = Duplex.CreatePair();
        var dialerStream = new TrackingStream(left);
        var outbound = Create(Alice, TimeSpan.FromMilliseconds(500)).SecureOutboundAsync(dialerStream, null, CancellationToken.None);
        var first = new byte[4096];
        Assert.True(await right.ReadAsync(first).AsTask().WaitAsync(Bound) > 0);
        byte[] reply = kind switch
        {
            "garbage" => RandomNumberGenerator.GetBytes(4096),
            "oversize" => [0xFF, 0xFF, 0x16, 0x03, 0x03, 0xFF, 0xFF, .. RandomNumberGenerator.GetBytes(100)],
            _ => RandomNumberGenerator.GetBytes(3),
        };
        await right.WriteAsync(reply);
        if (kind != "oversize") right.Dispose();
        await Assert.ThrowsAnyAsync<P2pException>(() => outbound.WaitAsync(Bound));
        Assert.True(dialerStream.IsDisposed);
        right.Dispose();
    }

    /// <summary>What an honest dialer sends first, captured from a remote that never answers.</summary>
    private async Task<byte[]> CaptureFirstFlightAsync()
    {
        var (left, right) = Duplex.CreatePair();
        using var cancel = new CancellationTokenSource();
        var outbound = Create(Carol).SecureOutboundAsync(left, null, cancel.Token);
        var buffer = new byte[8192];
        int n = await right.ReadAsync(buffer).AsTask().WaitAsync(Bound);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => outbound.WaitAsync(Bound));
        right.Dispose();
        Assert.True(n > 7);
        return buffer[..n];
    }

    [Fact]
    public async Task Cancellation_stops_a_handshake_with_a_silent_remote_and_closes_the_stream()
    {
        var (left, right) = Duplex.CreatePair();
        var dialerStream = new TrackingStream(left);
        using var cancel = new CancellationTokenSource();
        var outbound = Create(Alice).SecureOutboundAsync(dialerStream, null, cancel.Token);
        Assert.True(await right.ReadAsync(new byte[4096]).AsTask().WaitAsync(Bound) > 0);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => outbound.WaitAsync(Bound));
        Assert.True(dialerStream.IsDisposed);
        right.Dispose();
    }

    [Fact]
    public async Task A_silent_remote_is_cut_off_by_the_handshake_timeout()
    {
        var (left, right) = Duplex.CreatePair();
        var inbound = Create(Bob, TimeSpan.FromMilliseconds(200)).SecureInboundAsync(right, CancellationToken.None);
        var error = await Assert.ThrowsAsync<P2pProtocolException>(() => inbound.WaitAsync(Bound));
        Assert.IsType<TimeoutException>(error.InnerException);
        left.Dispose();
    }

    [Fact]
    public async Task The_handshake_timeout_runs_on_the_injected_clock()
    {
        // An hour: the real clock cannot end this handshake while the test runs; only the injected one can.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var (left, right) = Duplex.CreatePair();
        var inbound = Create(Bob, TimeSpan.FromHours(1), clock).SecureInboundAsync(right, CancellationToken.None);
        clock.Advance(TimeSpan.FromHours(1) - TimeSpan.FromTicks(1));
        Assert.False(inbound.IsCompleted);
        clock.Advance(TimeSpan.FromTicks(1));
        var error = await Assert.ThrowsAsync<P2pProtocolException>(() => inbound.WaitAsync(Bound));
        Assert.IsType<TimeoutException>(error.InnerException);
        left.Dispose();
    }

    [Fact]
    public async Task A_remote_that_drips_bytes_cannot_hold_the_handshake_past_its_timeout()
    {
        var (left, right) = Duplex.CreatePair();
        var inbound = Create(Bob, TimeSpan.FromMilliseconds(300)).SecureInboundAsync(right, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var drip = Task.Run(async () =>
        {
            // An opening each protocol takes as the start of a long message (a TLS handshake record of 64
            // bytes; a Noise message of 0x1603 bytes), one byte at a time, each well inside any idle timeout.
            byte[] opening = [0x16, 0x03, 0x01, 0x00, 0x40, .. new byte[64]];
            try
            {
                foreach (byte b in opening)
                {
                    await left.WriteAsync(new[] { b }, stop.Token);
                    await Task.Delay(20, stop.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException) { }
        });
        var error = await Assert.ThrowsAnyAsync<P2pException>(() => inbound.WaitAsync(Bound));
        Assert.IsType<TimeoutException>(error.InnerException);
        stop.Cancel();
        await drip.WaitAsync(Bound);
        left.Dispose();
    }

    public void Dispose()
    {
        foreach (var owned in _owned) owned.Dispose();
        Alice.Dispose();
        Bob.Dispose();
        Carol.Dispose();
        GC.SuppressFinalize(this);
    }
}
