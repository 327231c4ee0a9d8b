using System.Net;
using System.Net.Sockets;
using QuDag.P2p.Transport.Tcp;

namespace QuDag.P2p.Tests.Transport;

public class TcpStreamTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static async Task<(Socket Remote, TcpStream Local)> PairAsync()
    {
        await using var listener = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        var accept = listener.AcceptAsync(CancellationToken.None).AsTask();
        var remote = await TcpTransport.Default.DialAsync(listener.LocalEndPoint, Bound, CancellationToken.None);
        return (remote, new TcpStream(await accept.WaitAsync(Bound)));
    }

    private static async Task ReadExactlyAsync(Stream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Bound);
    }

    [Fact]
    public async Task A_zero_byte_read_completes_only_when_bytes_are_there()
    {
        // The remote writes, the local end reads every byte, then waits with a zero-byte read. A bare NetworkStream on
        // Linux wakes that wait for a late readiness event of the bytes already read: the wait must instead last until
        // the remote writes again. What the wait saw is taken at the moment it completes (a continuation that runs
        // inline), so no time window decides: a completion with nothing to read is a false wake, whenever it came. The
        // yield before the remote writes lets a late event in first: a bare NetworkStream fails 194 of 200 rounds so
        // (measured), and none without it.
        var (remote, local) = await PairAsync();
        using var _ = remote;
        await using var __ = local;
        for (int round = 0; round < 20; round++)
        {
            remote.Send([1, 2, 3]);
            remote.Send([4]);
            await ReadExactlyAsync(local, 4);

            var wait = local.ReadAsync(Memory<byte>.Empty).AsTask();
            var availableAtWake = wait.ContinueWith(_ => local.DataAvailable, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            await Task.Yield();
            remote.Send([5]);
            Assert.Equal(0, await wait.WaitAsync(Bound));
            Assert.True(await availableAtWake, $"Round {round}: the zero-byte read completed with nothing to read.");
            await ReadExactlyAsync(local, 1);
        }
    }

    [Fact]
    public async Task A_zero_byte_read_completes_at_once_when_bytes_wait_and_at_the_end_of_the_stream()
    {
        var (remote, local) = await PairAsync();
        await using var _ = local;
        remote.Send([7]);
        // Bytes already there: no wait (the readiness of the socket is polled, not awaited).
        var deadline = DateTime.UtcNow + Bound;
        while (local.Socket.Available == 0 && DateTime.UtcNow < deadline)
            await Task.Delay(5);
        var ready = local.ReadAsync(Memory<byte>.Empty);
        Assert.True(ready.IsCompletedSuccessfully);
        Assert.Equal(0, await ready);
        await ReadExactlyAsync(local, 1);

        // The end of the stream wakes a waiting reader, and the read after it returns 0.
        var wait = local.ReadAsync(Memory<byte>.Empty).AsTask();
        remote.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await wait.WaitAsync(Bound));
        Assert.Equal(0, await local.ReadAsync(new byte[8]).AsTask().WaitAsync(Bound));
        remote.Dispose();
    }

    [Fact]
    public async Task A_waiting_zero_byte_read_ends_when_cancelled_or_when_the_stream_closes()
    {
        var (remote, local) = await PairAsync();
        using var _ = remote;
        using (var cts = new CancellationTokenSource())
        {
            var wait = local.ReadAsync(Memory<byte>.Empty, cts.Token).AsTask();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Bound));
        }

        // Closing shuts the socket down before closing it: the wait then sees the end of the stream, or an error.
        var pending = local.ReadAsync(Memory<byte>.Empty).AsTask();
        await local.DisposeAsync();
        var ended = await Record.ExceptionAsync(async () => Assert.Equal(0, await pending.WaitAsync(Bound)));
        Assert.True(ended is null or IOException or ObjectDisposedException, ended?.ToString());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => local.ReadAsync(Memory<byte>.Empty).AsTask());
    }

    [Fact]
    public async Task A_wait_takes_a_small_message_whole_so_the_reads_after_it_need_no_receive()
    {
        // One receive per wake, as bare TCP: the wait itself receives (into the stream's resident buffer), so a ping-sized
        // message is out of the socket once the wait completes, and reading it costs no further system call.
        var (remote, local) = await PairAsync();
        using var _ = remote;
        await using var __ = local;
        var message = new byte[62];
        for (int round = 0; round < 10; round++)
        {
            Random.Shared.NextBytes(message);
            var wait = local.ReadAsync(Memory<byte>.Empty).AsTask();
            remote.Send(message);
            Assert.Equal(0, await wait.WaitAsync(Bound));
            Assert.Equal(0, local.Socket.Available);
            var read = new byte[200];
            var first = local.ReadAsync(read);
            Assert.True(first.IsCompletedSuccessfully, "the message was in memory already");
            Assert.Equal(message.Length, await first);
            Assert.Equal(message, read[..message.Length]);
        }
    }

    [Fact]
    public async Task Messages_larger_than_the_resident_buffer_arrive_whole_and_in_order_by_every_kind_of_read()
    {
        var (remote, local) = await PairAsync();
        await using var _ = local;
        var sent = new byte[300_000];
        Random.Shared.NextBytes(sent);
        var sending = Task.Run(() =>
        {
            // Uneven pieces, so reads meet partial resident fills, full ones and bytes already in the socket.
            for (int at = 0, step = 1; at < sent.Length; at += step, step = step * 3 % 70_001 + 1)
                remote.Send(sent.AsSpan(at, Math.Min(step, sent.Length - at)));
            remote.Shutdown(SocketShutdown.Send);
        });
        var received = new byte[sent.Length];
        int got = 0;
        for (int i = 0; got < received.Length; i++)
        {
            int n = (i % 4) switch
            {
                0 => await local.ReadAsync(received.AsMemory(got)).AsTask().WaitAsync(Bound),
                1 => await Task.Run(() => local.Read(received.AsSpan(got, Math.Min(1000, received.Length - got)))).WaitAsync(Bound),
                2 => await local.ReadAsync(received.AsMemory(got, Math.Min(7, received.Length - got))).AsTask().WaitAsync(Bound),
                _ => await local.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Bound),
            };
            got += n;
        }
        await sending.WaitAsync(Bound);
        Assert.Equal(sent, received);
        Assert.Equal(0, await local.ReadAsync(new byte[8]).AsTask().WaitAsync(Bound));
        Assert.Equal(-1, local.ReadByte());
        remote.Dispose();
    }

    [Fact]
    public async Task A_waiting_zero_byte_read_fails_when_the_stream_is_closed_under_it_every_time()
    {
        // A local close completes the pending receive without an error about 5 times in 1,000 here: in as many
        // rounds, a read that then reported "ready" would show (it did, about once in 200 runs of the test above).
        await using var listener = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        for (int round = 0; round < 1_000; round++)
        {
            var accept = listener.AcceptAsync(CancellationToken.None).AsTask();
            using var remote = await TcpTransport.Default.DialAsync(listener.LocalEndPoint, Bound, CancellationToken.None);
            var local = new TcpStream(await accept.WaitAsync(Bound));
            var pending = local.ReadAsync(Memory<byte>.Empty).AsTask();
            await local.DisposeAsync();
            var error = await Record.ExceptionAsync(() => pending.WaitAsync(Bound));
            Assert.True(error is IOException or ObjectDisposedException, $"Round {round}: {error?.ToString() ?? "the read reported data"}");
        }
    }
}
