using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using QuDag.P2p.Muxing;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>
/// Yamux over loopback TCP (no security): 64 B messages on one stream, each its own WriteAsync, fully received, against
/// one socket write per message (the naive way) and one socket write for all of them (the ceiling); and 1,000
/// concurrent streams each sending 4 KiB. Per message figures: OperationsPerInvoke is the message count.
/// </summary>
[MemoryDiagnoser]
public class YamuxBenchmarks
{
    private const int Messages = 10_000;
    private const int MessageSize = 64;
    private readonly byte[] _message = new byte[MessageSize];
    private readonly byte[] _all = new byte[Messages * MessageSize];
    private readonly byte[] _receive = new byte[64 * 1024];
    private YamuxSessions _sessions = null!;
    private MuxedStream _send = null!, _recv = null!;
    private LoopbackPair _bare = null!;

    [GlobalSetup]
    public void Setup()
    {
        _sessions = YamuxSessions.CreateAsync().GetAwaiter().GetResult();
        _send = _sessions.Client.OpenStreamAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        // Yamux opens lazily: the first frame carries the SYN, so write before accepting.
        _send.WriteAsync(_message).AsTask().GetAwaiter().GetResult();
        _recv = _sessions.Server.AcceptStreamAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        _recv.ReadExactlyAsync(_receive.AsMemory(0, MessageSize)).AsTask().GetAwaiter().GetResult();
        _bare = LoopbackPair.CreateAsync().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sessions.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _bare.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Messages, Description = "yamux: 64 B messages on one stream, one WriteAsync each")]
    public async Task Yamux64B()
    {
        var reading = ReadAsync(_recv, Messages * MessageSize);
        for (int i = 0; i < Messages; i++)
            await _send.WriteAsync(_message).ConfigureAwait(false);
        await reading.ConfigureAwait(false);
    }

    [Benchmark(OperationsPerInvoke = Messages, Baseline = true, Description = "bare TCP: one socket write per 64 B message")]
    public async Task BareOneWritePerMessage()
    {
        var reading = ReceiveAsync(_bare.Server, Messages * MessageSize);
        for (int i = 0; i < Messages; i++)
            await _bare.Client.SendAsync(_message, SocketFlags.None).ConfigureAwait(false);
        await reading.ConfigureAwait(false);
    }

    [Benchmark(OperationsPerInvoke = Messages, Description = "bare TCP: all messages in one write (ceiling)")]
    public async Task BareBatched()
    {
        var reading = ReceiveAsync(_bare.Server, _all.Length);
        await _bare.Client.SendAsync(_all, SocketFlags.None).ConfigureAwait(false);
        await reading.ConfigureAwait(false);
    }

    [Benchmark(Description = "yamux: 1,000 concurrent streams x 4 KiB, fresh session pair")]
    public async Task Streams1000x4K()
    {
        await using var sessions = await YamuxSessions.CreateAsync().ConfigureAwait(false);
        await sessions.ManyStreamsAsync(1000, 4096, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task ReadAsync(Stream stream, int count)
    {
        while (count > 0)
        {
            int n = await stream.ReadAsync(_receive.AsMemory(0, Math.Min(count, _receive.Length))).ConfigureAwait(false);
            if (n == 0)
                throw new EndOfStreamException();
            count -= n;
        }
    }

    private async Task ReceiveAsync(Socket socket, int count)
    {
        while (count > 0)
        {
            int n = await socket.ReceiveAsync(_receive.AsMemory(0, Math.Min(count, _receive.Length)), SocketFlags.None).ConfigureAwait(false);
            if (n == 0)
                throw new EndOfStreamException();
            count -= n;
        }
    }
}
