using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using QuDag.Network;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Security.Noise;
using QuDag.P2p.Upgrade;

namespace QuDag.Benchmarks;

/// <summary>
/// expire &lt;count&gt; [both|qudag|session|bare]: closing <c>count</c> idle connections at once, with the CPU time of
/// this process and of the remote-end processes (children) over the close. Each way runs in a fresh process of its own
/// ('both' runs the three one after another), its remote ends in child processes (the nodes there without keepalive:
/// 5,000 nodes' keepalive timers in one process are a background load of the harness, not of a close):
/// <list type="bullet">
/// <item>qudag: the manager's pool expiry (a FakeTimeProvider jumps past the pool timeout), against child managers;</item>
/// <item>session: the same children dialed by a bare Upgrader (TCP + multistream + Noise + yamux, no host, no manager)
/// and closed with <see cref="P2pConnection.DisposeAsync"/>: the stack's share of a close, without the manager's;</item>
/// <item>bare, the floor: plain TCP sockets to a child that holds each one with a read pending, closed the cheapest
/// correct way at that layer: shutdown (the pending reads end with an end of stream, no exception), then close; the
/// remote end reads the end and closes its socket. A Noise + yamux connection has no closing handshake of its own
/// (yamux's GoAway is optional), so this is what any close of ours must at least pay, on both ends.</item>
/// </list>
/// </summary>
internal static class Expire
{
    public static async Task<int> RunAsync(int count, string which)
    {
        if (which == "both")
            return await Scale.RunWaysAsync("expire", count, ["qudag", "session", "bare"]);
        var children = new List<Process>();
        try
        {
            return which switch
            {
                "qudag" => await QuDagAsync(count, children),
                "session" => await SessionAsync(count, children),
                "bare" => await BareAsync(count, children),
                _ => Unknown(which),
            };
        }
        finally
        {
            Scale.StopChildren(children);
        }
    }

    private static int Unknown(string which)
    {
        Console.Error.WriteLine($"unknown way '{which}': qudag, session, bare or both");
        return 2;
    }

    private static async Task<int> QuDagAsync(int count, List<Process> children)
    {
        var peers = await Scale.StartPeersAsync(count, children, quiet: true);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var timeout = Scale.ExpiryPoolTimeout;
        await using var manager = new ConnectionManager(Scale.ExpiringOptions(count, time));
        await Parallel.ForEachAsync(peers, new ParallelOptions { MaxDegreeOfParallelism = 64 },
            async (peer, ct) => await manager.ConnectAsync(peer.Id, peer.EndPoint, ct));
        foreach (var peer in peers)
            await manager.DisconnectAsync(peer.Id);
        await SettleAsync(children);
        var measure = await Measure.StartAsync(children);
        time.Advance(timeout + IdlePool.ScanInterval(timeout));
        var advanced = measure.Elapsed;
        var firstClosed = TimeSpan.Zero;
        while (manager.OpenConnections > 0)
        {
            if (firstClosed == TimeSpan.Zero && manager.OpenConnections < count)
                firstClosed = measure.Elapsed;
            await Task.Delay(1);
        }
        await measure.ReportAsync($"qudag: closing {count} expired idle connections (pool expiry; Advance returned after " +
            $"{advanced.TotalMilliseconds:0} ms, first close seen at {firstClosed.TotalMilliseconds:0} ms)", count, children);
        return 0;
    }

    private static async Task<int> SessionAsync(int count, List<Process> children)
    {
        var peers = await Scale.StartPeersAsync(count, children, quiet: true);
        using var identity = NodeIdentity.Create();
        using var noise = new NoiseSecurity(identity, new NoiseSecurityOptions { StreamMuxers = [YamuxMuxer.Id] });
        var upgrader = new Upgrader([noise], [new YamuxMuxer()], timeout: TimeSpan.FromMinutes(10));
        var connections = new P2pConnection[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
        {
            var socket = new Socket(peers[i].EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            long start = Stopwatch.GetTimestamp();
            await socket.ConnectAsync(peers[i].EndPoint, ct);
            connections[i] = await upgrader.UpgradeOutboundAsync(new NetworkStream(socket, ownsSocket: true), socket.LocalEndPoint!,
                peers[i].EndPoint, peers[i].Id, start, ct);
        });
        await SettleAsync(children);
        var measure = await Measure.StartAsync(children);
        await Parallel.ForEachAsync(connections, async (c, _) => await c.DisposeAsync());
        await measure.ReportAsync($"session: disposing {count} idle Noise + yamux connections (P2pConnection.DisposeAsync, no host or manager)", count, children);
        return 0;
    }

    private static async Task<int> BareAsync(int count, List<Process> children)
    {
        var child = Scale.StartSelf("tcp-peer");
        children.Add(child);
        var endPoint = IPEndPoint.Parse((await child.StandardOutput.ReadLineAsync())!);
        if (await child.StandardOutput.ReadLineAsync() != "READY")
            throw new InvalidOperationException("The tcp-peer child did not start.");
        var sockets = new Socket[count];
        var held = new Task[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
        {
            var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endPoint, ct);
            sockets[i] = socket;
            held[i] = HoldAsync(socket);
        });
        await SettleAsync(children);
        var measure = await Measure.StartAsync(children);
        Parallel.ForEach(sockets, s => s.Shutdown(SocketShutdown.Both));
        await Task.WhenAll(held);
        await measure.ReportAsync($"bare: closing {count} idle TCP sockets (shutdown, the pending read ends, close)", count, children);
        return 0;
    }

    /// <summary>Child: a TCP listener holding every connection with a read pending until the remote closes, then closing it.</summary>
    public static async Task<int> ServeTcpPeerAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4096);
        Console.WriteLine(listener.LocalEndPoint);
        Console.WriteLine("READY");
        var accepting = Task.Run(async () =>
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await listener.AcceptAsync();
                }
                catch (Exception)
                {
                    return;
                }
                socket.NoDelay = true;
                _ = HoldAsync(socket);
            }
        });
        await ProcessCounters.ServeUntilInputEndsAsync();
        listener.Dispose();
        await accepting;
        return 0;
    }

    private static readonly byte[] Sink = new byte[64];

    /// <summary>Holds an idle socket as an idle connection of ours does: a zero-byte read pending, no buffer; closes it at the end of the stream.</summary>
    private static async Task HoldAsync(Socket socket)
    {
        try
        {
            while (true)
            {
                await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                if (await socket.ReceiveAsync(Sink, SocketFlags.None) == 0)
                    break;
            }
        }
        catch (SocketException)
        {
            // Reset by the remote: closed all the same.
        }
        finally
        {
            socket.Dispose();
        }
    }

    /// <summary>Lets the upgrades' last work (identify on connect, window updates) finish on both ends; opens the profiling gate.</summary>
    private static async Task SettleAsync(List<Process> children)
    {
        await Task.Delay(500);
        foreach (var child in children)
            Console.WriteLine($"CHILD {child.Id}");
        await Profiling.GateAsync("expire");
    }

    /// <summary>
    /// The children's CPU and counters per second while nothing happens (5,000 nodes' timers in one process tick at about
    /// 70 ms/s here), measured over a second before the close; Report subtracts them from the children's figures over it.
    /// </summary>
    private static async Task<(double CpuMs, ProcessCounters Counters, double Seconds)> IdleRateAsync(List<Process> children)
    {
        var before = Profiling.CpuTimes(children);
        var counters = await ProcessCounters.OfChildrenAsync(children);
        var watch = Stopwatch.StartNew();
        await Task.Delay(1000);
        var after = Profiling.CpuTimes(children);
        var idle = await ProcessCounters.OfChildrenAsync(children) - counters;
        var seconds = watch.Elapsed.TotalSeconds;
        return (after.Skip(1).Zip(before.Skip(1), (a, b) => (a - b).TotalMilliseconds).Sum() / seconds, idle, seconds);
    }

    /// <summary>Wall time, the CPU time and the counters of this process and of the children, from Start to Report.</summary>
    private sealed class Measure
    {
        private readonly TimeSpan[] _cpu;
        private readonly (double CpuMs, ProcessCounters Counters, double Seconds) _idle;
        private readonly ProcessCounters _here;
        private readonly ProcessCounters _remote;
        private readonly Stopwatch _watch;

        private Measure(List<Process> children, (double, ProcessCounters, double) idle, ProcessCounters remote)
        {
            _idle = idle;
            _remote = remote;
            _cpu = Profiling.CpuTimes(children);
            _here = ProcessCounters.Now;
            _watch = Stopwatch.StartNew();
        }

        public static async Task<Measure> StartAsync(List<Process> children)
        {
            ProcessCounters.Init();
            var idle = await IdleRateAsync(children);
            return new(children, idle, await ProcessCounters.OfChildrenAsync(children));
        }

        public TimeSpan Elapsed => _watch.Elapsed;

        public async Task ReportAsync(string what, int count, List<Process> children)
        {
            var wall = _watch.Elapsed;
            var here = ProcessCounters.Now - _here;
            var used = Profiling.CpuTimes(children).Zip(_cpu, (a, b) => a - b).ToArray();
            var remoteCounters = await ProcessCounters.OfChildrenAsync(children) - _remote;
            var idle = TimeSpan.FromMilliseconds(_idle.CpuMs * wall.TotalSeconds);
            var remote = used.Skip(1).Aggregate(TimeSpan.Zero, (a, b) => a + b) - idle;
            // The children's idle work items and allocations over the same wall time, as for their CPU.
            var share = wall.TotalSeconds / _idle.Seconds;
            var idleCounters = new ProcessCounters((long)(_idle.Counters.WorkItems * share), (long)(_idle.Counters.Allocated * share),
                (long)(_idle.Counters.Exceptions * share));
            Console.WriteLine($"{what}: {wall.TotalMilliseconds:0} ms; CPU: this process {used[0].TotalMilliseconds:0} ms, " +
                $"remote-end processes {remote.TotalMilliseconds:0} ms (less their idle {idle.TotalMilliseconds:0} ms) => " +
                $"{used[0].TotalMicroseconds / count:0} µs + {remote.TotalMicroseconds / count:0} µs per close; per close here: " +
                $"{here.Per(count)}; per close in the remote ends: {(remoteCounters - idleCounters).Per(count)} (less their idle " +
                $"{idleCounters.Per(count)}); load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        }
    }
}
