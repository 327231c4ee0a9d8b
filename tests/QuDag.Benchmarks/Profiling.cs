using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;
using QuDag.Network;

namespace QuDag.Benchmarks;

/// <summary>
/// Diagnostic modes for the missed targets (issue 5): each runs one benchmark's work long enough for a sampling
/// profiler, and measures the process's own CPU time per operation beside the wall time. CPU time counts only this
/// process's threads, so it is far less disturbed than wall time by whatever else runs on the 2 cores.
/// With QUDAG_PROFILE_GATE=path the measured phase waits until that file exists, after printing "GATE pid", so
/// `dotnet-trace collect -p pid` covers only that phase (profile.sh does this).
/// </summary>
internal static class Profiling
{
    public static async Task GateAsync(string phase)
    {
        var path = Environment.GetEnvironmentVariable("QUDAG_PROFILE_GATE");
        if (string.IsNullOrEmpty(path))
            return;
        Console.WriteLine($"GATE {Environment.ProcessId} {phase}");
        while (!File.Exists(path))
            await Task.Delay(20);
    }

    /// <summary>loop &lt;what&gt; &lt;seconds&gt; [arg]: one benchmark method called for the given time.</summary>
    public static async Task<int> LoopAsync(string what, double seconds, string? arg)
    {
        switch (what)
        {
            case "messages" or "messages-bare-batched" or "messages-bare-single":
            {
                var bench = new MessageBenchmarks { PayloadSize = arg is null ? 64 : int.Parse(arg) };
                bench.Setup();
                Func<Task> op = what switch
                {
                    "messages" => bench.ManagerSendReceive,
                    "messages-bare-batched" => bench.BareBatched,
                    _ => bench.BarePerMessage,
                };
                await RunAsync($"{what} {bench.PayloadSize} B", seconds, 16_384, op);
                bench.Cleanup();
                break;
            }
            case "status" or "status-bare":
            {
                var bench = new StatusBenchmarks { Threads = arg is null ? 1 : int.Parse(arg) };
                bench.Setup();
                Func<Task> op = what == "status"
                    ? () => Task.FromResult(bench.GetStatusAsync())
                    : () => Task.FromResult(bench.BareLookup());
                await RunAsync($"{what} threads={bench.Threads}", seconds, 1 << 20, op);
                bench.Cleanup();
                break;
            }
            case "connect" or "connect-bare":
            {
                var bench = new ConnectBenchmarks();
                bench.Setup();
                await RunAsync(what, seconds, 1, what == "connect" ? bench.ConnectCold : bench.BareTls);
                bench.Cleanup();
                break;
            }
            default:
                Console.Error.WriteLine($"unknown loop '{what}'");
                return 2;
        }
        return 0;
    }

    private static async Task RunAsync(string name, double seconds, int opsPerCall, Func<Task> call)
    {
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < Math.Min(2, seconds / 4))
            await call();
        await GateAsync(name);
        using var self = Process.GetCurrentProcess();
        var cpu0 = self.TotalProcessorTime;
        long calls = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed.TotalSeconds < seconds)
        {
            await call();
            calls++;
        }
        var wall = watch.Elapsed;
        self.Refresh();
        var cpu = self.TotalProcessorTime - cpu0;
        var ops = (double)calls * opsPerCall;
        Console.WriteLine($"{name}: {ops / wall.TotalSeconds:N0} ops/s, wall {wall.TotalMilliseconds * 1e6 / ops:0.0} ns/op, " +
            $"process CPU {cpu.TotalMilliseconds * 1e6 / ops:0.0} ns/op ({cpu / wall:0.00} cores busy)");
    }

    /// <summary>
    /// connect-split &lt;count&gt;: where a cold connect's time goes. Interleaves, in blocks of 100, (A) a bare TLS
    /// connect + dispose, (B) a bare libp2p upgrade (multistream-select, Noise, yamux) to the manager's listener,
    /// then dispose, and (C) ConnectAsync + DisconnectAsync(close: true); times the open and close halves separately,
    /// with process CPU time per block.
    /// </summary>
    public static async Task<int> ConnectSplitAsync(int count)
    {
        var server = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 100_000 });
        var serverEndPoint = (await server.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0))).LocalEndPoint;
        var client = new ConnectionManager(100_000);
        using var upgradeIdentity = NodeIdentity.Create();
        using var noise = new QuDag.P2p.Security.Noise.NoiseSecurity(upgradeIdentity);
        var upgrader = new QuDag.P2p.Upgrade.Upgrader([noise], [new QuDag.P2p.Muxing.Yamux.YamuxMuxer()]);
        var bareServer = new BareTlsServer(NodeIdentity.Create(), BareTlsServer.DrainAsync);
        var clientIdentity = NodeIdentity.Create();

        var ways = new (string Name, Func<Task<object>> Open, Func<object, Task> Close)[]
        {
            ("A bare TLS", async () => await BareTlsServer.ConnectAsync(bareServer.EndPoint, TlsSettings.Client(clientIdentity)),
                async s => await ((SslStream)s).DisposeAsync()),
            ("B bare libp2p upgrade", async () =>
            {
                // TCP + multistream-select + Noise + yamux to the manager's listener, without a host or manager on this side.
                var socket = new System.Net.Sockets.Socket(serverEndPoint.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                long start = Stopwatch.GetTimestamp();
                await socket.ConnectAsync(serverEndPoint);
                return await upgrader.UpgradeOutboundAsync(new System.Net.Sockets.NetworkStream(socket, ownsSocket: true), socket.LocalEndPoint!, serverEndPoint,
                    server.LocalPeerId, start, CancellationToken.None);
            }, async c => await ((QuDag.P2p.Upgrade.P2pConnection)c).DisposeAsync()),
            ("C ConnectAsync / close", async () =>
            {
                await client.ConnectAsync(server.LocalPeerId, serverEndPoint);
                return client;
            }, async _ => await client.DisconnectAsync(server.LocalPeerId, close: true)),
        };
        // Warm-up: JIT, the certificate contexts, the thread pool.
        foreach (var way in ways)
            for (var i = 0; i < 50; i++)
                await way.Close(await way.Open());

        await GateAsync("connect-split");
        var open = ways.Select(_ => new List<double>()).ToArray();
        var close = ways.Select(_ => new List<double>()).ToArray();
        var cpu = new double[ways.Length];
        using var self = Process.GetCurrentProcess();
        for (var done = 0; done < count; done += 100)
        {
            for (var w = 0; w < ways.Length; w++)
            {
                self.Refresh();
                var cpu0 = self.TotalProcessorTime;
                for (var i = 0; i < 100; i++)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    var handle = await ways[w].Open();
                    var t1 = Stopwatch.GetTimestamp();
                    await ways[w].Close(handle);
                    var t2 = Stopwatch.GetTimestamp();
                    open[w].Add(Stopwatch.GetElapsedTime(t0, t1).TotalMicroseconds);
                    close[w].Add(Stopwatch.GetElapsedTime(t1, t2).TotalMicroseconds);
                }
                self.Refresh();
                cpu[w] += (self.TotalProcessorTime - cpu0).TotalMicroseconds;
            }
        }
        // Let the server ends of the last ones finish before reading the handshake metric.
        await Task.Delay(200);
        Console.WriteLine($"{"way",-30} {"open mean",10} {"open p50",9} {"close mean",11} {"close p50",10} {"total mean",11} {"CPU/op",8}");
        for (var w = 0; w < ways.Length; w++)
        {
            var n = open[w].Count;
            Console.WriteLine($"{ways[w].Name,-30} {open[w].Average(),8:0} µs {Median(open[w]),6:0} µs {close[w].Average(),9:0} µs " +
                $"{Median(close[w]),7:0} µs {open[w].Zip(close[w], (a, b) => a + b).Average(),9:0} µs {cpu[w] / n,5:0} µs");
        }
        var metrics = client.GetMetrics();
        Console.WriteLine($"client HandshakeTime (TCP + multistream + Noise + yamux, as the manager times it): mean {metrics.AvgHandshakeTime.TotalMicroseconds:0} µs");
        await client.DisposeAsync();
        await server.DisposeAsync();
        await bareServer.DisposeAsync();
        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    /// <summary>This process's CPU time, then each child's (utime + stime from /proc).</summary>
    internal static TimeSpan[] CpuTimes(List<Process> children)
    {
        using var self = Process.GetCurrentProcess();
        return [self.TotalProcessorTime, .. children.Select(c => ProcCpu(c.Id))];
    }

    private static TimeSpan ProcCpu(int pid)
    {
        // Fields 14 and 15 of /proc/pid/stat, in clock ticks (100 per second here); the command name may hold spaces.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return TimeSpan.FromMilliseconds((long.Parse(fields[11]) + long.Parse(fields[12])) * 10);
    }

    /// <summary>
    /// status-layout &lt;seconds&gt;: why GetStatusAsync scales worse than a bare lookup. The same 10,000 random keys
    /// and access order as group 1, on 1 and 2 threads, for: the bare ConcurrentDictionary&lt;PeerId, int&gt;;
    /// GetStatusAsync; a ConcurrentDictionary&lt;PeerId, StrongBox&lt;int&gt;&gt; whose boxes lie next to each other
    /// (one extra dereference, small footprint); and the same with each box followed by a PeerEntry-sized object
    /// (one extra dereference, PeerEntry's footprint).
    /// </summary>
    public static int StatusLayout(double seconds)
    {
        const int peers = 10_000;
        var ids = SyntheticIds.Create(peers);
        var bare = new ConcurrentDictionary<PeerId, int>();
        var manager = new ConnectionManager(100);
        var packed = new ConcurrentDictionary<PeerId, StrongBox<int>>();
        var spread = new ConcurrentDictionary<PeerId, StrongBox<int>>();
        var keepAlive = new List<object>();
        foreach (var id in ids)
        {
            bare[id] = 1;
            manager.UpdateStatusAsync(id, ConnectionStatus.Connected).GetAwaiter().GetResult();
        }
        var boxes = ids.Select(_ => new StrongBox<int>(1)).ToArray();
        for (var i = 0; i < peers; i++)
            packed[ids[i]] = boxes[i];
        foreach (var id in ids)
        {
            spread[id] = new StrongBox<int>(1);
            keepAlive.Add(new byte[200]); // PeerEntry (about 120 B) + its SemaphoreSlim and lock object
        }
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);

        var ways = new (string Name, Func<int, int, int> Body)[]
        {
            ("bare ConcurrentDictionary<PeerId,int>", (from, to) =>
            {
                var s = 0;
                for (var i = from; i < to; i++)
                    s += bare.TryGetValue(ids[i % peers], out var v) ? v : 0;
                return s;
            }),
            ("GetStatusAsync", (from, to) =>
            {
                var s = 0;
                for (var i = from; i < to; i++)
                    s += (int)(manager.GetStatusAsync(ids[i % peers]).Result ?? 0);
                return s;
            }),
            ("dictionary -> packed StrongBox<int>", (from, to) =>
            {
                var s = 0;
                for (var i = from; i < to; i++)
                    s += packed.TryGetValue(ids[i % peers], out var v) ? v.Value : 0;
                return s;
            }),
            ("dictionary -> StrongBox<int> + 200 B", (from, to) =>
            {
                var s = 0;
                for (var i = from; i < to; i++)
                    s += spread.TryGetValue(ids[i % peers], out var v) ? v.Value : 0;
                return s;
            }),
        };
        const int ops = 1 << 22;
        var results = new Dictionary<(string, int), List<double>>();
        for (var round = 0; round < 5; round++)
        {
            foreach (var threads in new[] { 1, 2 })
            {
                foreach (var (name, body) in ways)
                {
                    var watch = Stopwatch.StartNew();
                    long done = 0;
                    while (watch.Elapsed.TotalSeconds < seconds)
                    {
                        if (threads == 1)
                        {
                            body(0, ops);
                        }
                        else
                        {
                            var other = Task.Run(() => body(ops / 2, ops));
                            body(0, ops / 2);
                            other.Wait();
                        }
                        done += ops;
                    }
                    var ns = watch.Elapsed.TotalNanoseconds / done;
                    if (round > 0) // round 0 is the warm-up
                        (results.TryGetValue((name, threads), out var list) ? list : results[(name, threads)] = []).Add(ns);
                }
            }
        }
        GC.KeepAlive(keepAlive);
        Console.WriteLine($"{"way",-40} {"1 thread",12} {"2 threads",12} {"ratio to bare (1 / 2 threads)",32}");
        double Best(string name, int threads) => results[(name, threads)].Min();
        foreach (var (name, _) in ways)
        {
            Console.WriteLine($"{name,-40} {Best(name, 1),9:0.00} ns {Best(name, 2),9:0.00} ns " +
                $"{Best(ways[0].Name, 1) / Best(name, 1),15:P0} / {Best(ways[0].Name, 2) / Best(name, 2):P0}" +
                $"   (medians {Med(results[(name, 1)]):0.00} / {Med(results[(name, 2)]):0.00} ns)");
        }
        manager.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }

    private static double Med(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
