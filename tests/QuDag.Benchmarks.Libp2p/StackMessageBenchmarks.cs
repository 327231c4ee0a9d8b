using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using QuDag.P2p.Host;
using QuDag.P2p.Muxing;
using QuDag.P2p.Upgrade;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>
/// 64 B messages on one stream of the whole stack (TCP + Noise + yamux, two hosts in this process), each message its
/// own WriteAsync, against the naive secure way: every message sealed as its own Noise frame (ChaCha20-Poly1305, 2-byte
/// length) and sent with its own socket write. The receiver reads every byte and acknowledges each batch.
/// </summary>
[MemoryDiagnoser]
public class StackMessageBenchmarks
{
    public const int Messages = 10_000;
    private const int MessageSize = 64;
    private const string Protocol = "/qudag-bench/batch-sink/1.0.0";
    private readonly byte[] _message = new byte[MessageSize];
    private readonly byte[] _ack = new byte[1];
    private P2pHost _listener = null!, _dialer = null!;
    private P2pConnection _connection = null!;
    private MuxedStream _stream = null!;
    private LoopbackPair _bare = null!;
    private ChaCha20Poly1305 _seal = null!, _open = null!;
    private readonly byte[] _frame = new byte[2 + MessageSize + 16];
    private readonly byte[] _nonce = new byte[12];
    private Task _bareReceiver = Task.CompletedTask;

    [GlobalSetup]
    public void Setup()
    {
        _listener = new P2pHost(new P2pHostOptions { Security = [SecurityProtocols.Noise] });
        _dialer = new P2pHost(new P2pHostOptions { Security = [SecurityProtocols.Noise] });
        _listener.SetStreamHandler(Protocol, ServeBatchesAsync);
        var listening = _listener.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0)).GetAwaiter().GetResult();
        _connection = _dialer.DialAsync(listening.Addresses[0]).GetAwaiter().GetResult();
        _stream = _connection.OpenStreamAsync(Protocol, CancellationToken.None).GetAwaiter().GetResult();
        _bare = LoopbackPair.CreateAsync().GetAwaiter().GetResult();
        byte[] key = RandomNumberGenerator.GetBytes(32);
        _seal = new ChaCha20Poly1305(key);
        _open = new ChaCha20Poly1305(key);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stream.Dispose();
        _dialer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _bare.Dispose();
        _seal.Dispose();
        _open.Dispose();
    }

    // Reads one batch (Messages x MessageSize bytes), acknowledges it with one byte, again until the stream ends.
    private static async Task ServeBatchesAsync(MuxedStream stream, P2pConnection connection, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            for (int left = Messages * MessageSize; left > 0;)
            {
                int n = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(left, buffer.Length)), ct).ConfigureAwait(false);
                if (n == 0)
                    return;
                left -= n;
            }
            await stream.WriteAsync(new byte[] { 1 }, ct).ConfigureAwait(false);
        }
    }

    [Benchmark(OperationsPerInvoke = Messages, Description = "stack (TCP + Noise + yamux): 64 B messages on one stream, one WriteAsync each")]
    public async Task Stack64B()
    {
        for (int i = 0; i < Messages; i++)
            await _stream.WriteAsync(_message).ConfigureAwait(false);
        await _stream.ReadExactlyAsync(_ack).ConfigureAwait(false);
    }

    [Benchmark(OperationsPerInvoke = Messages, Baseline = true, Description = "naive secure: one sealed Noise frame and one socket write per 64 B message")]
    public async Task NaiveSealedWritePerMessage()
    {
        var receiving = Task.Run(ReceiveSealedAsync);
        ulong counter = 0;
        for (int i = 0; i < Messages; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_nonce.AsSpan(4), counter++);
            BinaryPrimitives.WriteUInt16BigEndian(_frame, MessageSize + 16);
            _seal.Encrypt(_nonce, _message, _frame.AsSpan(2, MessageSize), _frame.AsSpan(2 + MessageSize, 16));
            await _bare.Client.SendAsync(_frame, SocketFlags.None).ConfigureAwait(false);
        }
        await receiving.ConfigureAwait(false);
    }

    private async Task ReceiveSealedAsync()
    {
        var frame = new byte[_frame.Length];
        var plain = new byte[MessageSize];
        var nonce = new byte[12];
        ulong counter = 0;
        for (int i = 0; i < Messages; i++)
        {
            for (int got = 0; got < frame.Length;)
            {
                int n = await _bare.Server.ReceiveAsync(frame.AsMemory(got), SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                    throw new EndOfStreamException();
                got += n;
            }
            BinaryPrimitives.WriteUInt64LittleEndian(nonce.AsSpan(4), counter++);
            _open.Decrypt(nonce, frame.AsSpan(2, MessageSize), frame.AsSpan(2 + MessageSize, 16), plain);
        }
    }
}
