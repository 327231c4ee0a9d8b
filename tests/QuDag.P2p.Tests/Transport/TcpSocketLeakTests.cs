using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Transport.Tcp;

namespace QuDag.P2p.Tests.Transport;

/// <summary>Counts the process's socket descriptors, so it runs alone: no other test may open sockets meanwhile.</summary>
[CollectionDefinition(nameof(SocketCounting), DisableParallelization = true)]
public sealed class SocketCounting;

[Collection(nameof(SocketCounting))]
public class TcpSocketLeakTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static int CountSockets()
        => new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos()
            .Count(fd => { try { return fd.LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true; } catch (IOException) { return false; } });

    private static async Task AssertSocketCountReturnsToAsync(int expected)
    {
        // Closing is synchronous, but give a runtime-internal socket a bounded moment to settle.
        var deadline = DateTime.UtcNow + Bound;
        while (CountSockets() > expected && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.Equal(expected, CountSockets());
    }

    [Fact]
    public async Task Failed_timed_out_and_cancelled_dials_and_cancelled_accepts_close_every_socket()
    {
        // Warm up: the first dial and accept create the runtime's socket engine and its descriptors.
        await using (var warm = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0)))
        {
            var accepted = warm.AcceptAsync(CancellationToken.None).AsTask();
            using var s = await TcpTransport.Default.DialAsync(warm.LocalEndPoint, Bound, CancellationToken.None);
            (await accepted.WaitAsync(Bound)).Dispose();
        }
        int before = CountSockets();

        var closed = TcpTransportTests.ClosedPort();
        for (int i = 0; i < 50; i++)
            await Assert.ThrowsAsync<DialFailedException>(() => TcpTransport.Default.DialAsync(closed, Bound, CancellationToken.None).WaitAsync(Bound));

        var time = new FakeTimeProvider();
        var transport = new TcpTransport(time);
        await using (var full = TcpTransportListener.Listen(new IPEndPoint(IPAddress.Loopback, 0), backlog: 1))
        {
            var (pending, filled) = await TcpTransportTests.DialUntilBacklogIsFullAsync(transport, full.LocalEndPoint, TimeSpan.FromSeconds(5), CancellationToken.None);
            var hanging = new List<Task<Socket>> { pending };
            using var cts = new CancellationTokenSource();
            for (int i = 0; i < 20; i++)
                hanging.Add(transport.DialAsync(full.LocalEndPoint, i % 2 == 0 ? TimeSpan.FromSeconds(5) : Timeout.InfiniteTimeSpan, cts.Token));
            time.Advance(TimeSpan.FromSeconds(5));   // the timed ones time out
            cts.Cancel();                             // the others are cancelled
            foreach (var dial in hanging)
            {
                var ex = await Record.ExceptionAsync(() => dial.WaitAsync(Bound));
                Assert.True(ex is TimeoutException or OperationCanceledException, ex?.ToString());
            }
            filled.ForEach(s => s.Dispose());

            for (int i = 0; i < 20; i++)
            {
                using var acceptCts = new CancellationTokenSource();
                var accept = full.AcceptAsync(acceptCts.Token).AsTask();
                acceptCts.Cancel();
                // The queue may still hold a connection from the filling; either outcome must leave no socket behind.
                try { (await accept.WaitAsync(Bound)).Dispose(); }
                catch (OperationCanceledException) { }
            }
        }

        await AssertSocketCountReturnsToAsync(before);
    }
}
