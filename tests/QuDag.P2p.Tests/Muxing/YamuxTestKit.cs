using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using QuDag.P2p.Muxing;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Security.Noise;
using QuDag.P2p.Transport.Tcp;
using QuDag.P2p.Tests.Support;

namespace QuDag.P2p.Tests.Muxing;

/// <summary>What a test session runs over: in memory, bare TCP, or Noise over TCP as in production (where the session
/// parses the plaintext Noise lends it in place instead of reading it into a buffer of its own).</summary>
public enum Transport { Duplex, Tcp, NoiseTcp }

/// <summary>Two yamux sessions over a connected pair, disposed together.</summary>
internal sealed class SessionPair : IAsyncDisposable
{
    public required YamuxSession Dialer { get; init; }
    public required YamuxSession Listener { get; init; }

    public static async Task<SessionPair> CreateAsync(Transport transport, YamuxOptions? options = null, YamuxOptions? listenerOptions = null)
    {
        (Stream a, Stream b) = transport switch
        {
            Transport.Duplex => Duplex.CreatePair(),
            Transport.Tcp => await TcpPairAsync(),
            _ => await NoiseTcpPairAsync(),
        };
        return new SessionPair
        {
            Dialer = new YamuxSession(a, isInitiator: true, options),
            Listener = new YamuxSession(b, isInitiator: false, listenerOptions ?? options),
        };
    }

    public static async Task<(Stream, Stream)> TcpPairAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Task<Socket> accepted = listener.AcceptSocketAsync();
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        Socket server = await accepted;
        server.NoDelay = true;
        return (new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
    }

    /// <summary>Noise transport streams over loopback TCP (the production TcpStream), keyed as a handshake's split would.</summary>
    public static async Task<(Stream, Stream)> NoiseTcpPairAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Task<Socket> accepted = listener.AcceptSocketAsync();
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        Socket server = await accepted;
        server.NoDelay = true;
        return NoisePair(new TcpStream(client), new TcpStream(server));
    }

    public static (Stream, Stream) NoisePair(Stream a, Stream b)
    {
        byte[] k1 = Wait.Pattern(32, 1), k2 = Wait.Pattern(32, 2);
        return (new NoiseStream(a, new NoiseCipherState(k1), new NoiseCipherState(k2)),
                new NoiseStream(b, new NoiseCipherState(k2), new NoiseCipherState(k1)));
    }

    public async ValueTask DisposeAsync()
    {
        await Dialer.DisposeAsync();
        await Listener.DisposeAsync();
    }
}

/// <summary>The other end of a session driven by hand: raw frames in, raw frames out.</summary>
internal sealed class RawPeer(Stream stream) : IAsyncDisposable
{
    public Stream Stream { get; } = stream;

    public Task SendAsync(byte type, ushort flags, uint streamId, uint length, byte[]? payload = null)
    {
        byte[] frame = new byte[12 + (payload?.Length ?? 0)];
        frame[0] = 0;
        frame[1] = type;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), streamId);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), length);
        payload?.CopyTo(frame, 12);
        return Stream.WriteAsync(frame).AsTask();
    }

    public Task SendRawAsync(byte[] bytes) => Stream.WriteAsync(bytes).AsTask();

    /// <summary>The next frame the session sent (a Data frame's payload is read and returned too).</summary>
    public async Task<(byte Type, ushort Flags, uint StreamId, uint Length, byte[] Payload)> ReadFrameAsync(CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        byte[] header = new byte[12];
        await Stream.ReadExactlyAsync(header, timeout.Token);
        Assert.Equal(0, header[0]);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
        byte[] payload = [];
        if (header[1] == 0 && length > 0)
        {
            payload = new byte[length];
            await Stream.ReadExactlyAsync(payload, timeout.Token);
        }
        return (header[1], BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2)), BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4)), length, payload);
    }

    /// <summary>Reads frames until one matches, skipping the rest (ACKs, window updates).</summary>
    public async Task<(byte Type, ushort Flags, uint StreamId, uint Length, byte[] Payload)> ReadUntilAsync(Func<(byte Type, ushort Flags, uint StreamId, uint Length, byte[] Payload), bool> match)
    {
        while (true)
        {
            var frame = await ReadFrameAsync();
            if (match(frame))
                return frame;
        }
    }

    public ValueTask DisposeAsync() => Stream.DisposeAsync();
}

internal static class Wait
{
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    /// <summary>Polls a condition with a bounded timeout (no sleep-and-hope: fails loudly if never true).</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > limit)
                throw new TimeoutException("Timed out waiting until " + what);
            await Task.Delay(5);
        }
    }

    public static byte[] Pattern(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static async Task<byte[]> ReadToEndAsync(Stream stream, int expected = 0)
    {
        var memory = new MemoryStream(expected);
        await stream.CopyToAsync(memory, 64 * 1024);
        return memory.ToArray();
    }
}

internal static class FrameTypes
{
    public const byte Data = 0, WindowUpdate = 1, Ping = 2, GoAway = 3;
    public const ushort Syn = 1, Ack = 2, Fin = 4, Rst = 8;
}
