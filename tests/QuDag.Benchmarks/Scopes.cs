using System.Diagnostics;
using QuDag.Network;
using QuDag.P2p.Resources;

namespace QuDag.Benchmarks;

/// <summary>
/// Issue 18's cost measure: ping round trips and 64 B message throughput with the resource scopes on (the default) and
/// off (<see cref="ResourceManagerOptions.Enabled"/> false: only the system scope's connection count is kept, since it is
/// MaxConnections and the seed's contract needs it; no transient, peer, protocol, stream or memory accounting), in one
/// run, so the difference is the cost of everything but that one count per connection open. The two
/// ways alternate round by round (on, off, on, off, ...) so drift of a shared machine falls on both; the report is
/// each way's median over the rounds and the difference. Target: under 5 % apart.
/// </summary>
internal static class Scopes
{
    private const int PayloadSize = 64;

    public static async Task<int> RunAsync(int rounds, int pings, int messages)
    {
        await using var on = await Pair.StartAsync(scopes: true);
        await using var off = await Pair.StartAsync(scopes: false);
        var results = new Dictionary<bool, (List<double> PingP50, List<double> PingMean, List<double> MessagesPerSecond)>
        {
            [true] = ([], [], []),
            [false] = ([], [], []),
        };
        // Warm-up: JIT, pools and the yamux windows of both pairs, not counted.
        foreach (var pair in new[] { on, off })
        {
            await pair.PingAsync(pings / 10);
            await pair.SendAsync(messages / 10);
        }
        for (var round = 0; round < rounds; round++)
        {
            foreach (var pair in round % 2 == 0 ? new[] { on, off } : new[] { off, on })
            {
                var sorted = await pair.PingAsync(pings);
                results[pair.ScopesOn].PingP50.Add(sorted[sorted.Length / 2]);
                results[pair.ScopesOn].PingMean.Add(sorted.Average());
                results[pair.ScopesOn].MessagesPerSecond.Add(await pair.SendAsync(messages));
            }
        }
        Console.WriteLine($"scopes on vs off: {rounds} rounds of {pings} pings and {messages} messages of {PayloadSize} B each way, alternating");
        Console.WriteLine($"cpus={Environment.ProcessorCount} load={File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Report("ping p50 (µs)", Median(results[true].PingP50), Median(results[false].PingP50), lowerIsBetter: true);
        Report("ping mean (µs)", Median(results[true].PingMean), Median(results[false].PingMean), lowerIsBetter: true);
        Report("64 B messages/s", Median(results[true].MessagesPerSecond), Median(results[false].MessagesPerSecond), lowerIsBetter: false);
        Console.WriteLine($"scope usage after the run (on): {string.Join("; ", on.Server.Resources.GetUsage().Where(u => !u.IsEmpty).Select(u => $"{u.Scope} {u.Name} streams {u.StreamsInbound}/{u.StreamsOutbound} memory {u.MemoryBytes}"))}");
        return 0;
    }

    private static void Report(string what, double on, double off, bool lowerIsBetter)
    {
        double cost = lowerIsBetter ? (on - off) / off : (off - on) / off; // positive: scopes cost that much
        Console.WriteLine($"{what,-18} on={on,12:0.0} off={off,12:0.0} cost={cost * 100,6:0.0} % {(Math.Abs(cost) < 0.05 ? "(within 5 %)" : "(over 5 %)")}");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Two managers over loopback, one connection between them, with the scopes on or off on both.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private readonly TaskCompletionSource[] _done = [new()];
        private int _received;
        private int _expected;
        private Task _drain = Task.CompletedTask;

        public required bool ScopesOn { get; init; }

        public required ConnectionManager Server { get; init; }

        public required ConnectionManager Client { get; init; }

        public static async Task<Pair> StartAsync(bool scopes)
        {
            ConnectionManagerOptions Options() => new()
            {
                MaxConnections = 10,
                KeepAliveInterval = TimeSpan.Zero,
                Resources = new ResourceManagerOptions() with { Enabled = scopes },
            };
            var pair = new Pair { ScopesOn = scopes, Server = new ConnectionManager(Options()), Client = new ConnectionManager(Options()) };
            var listener = await pair.Server.ListenAsync(new(System.Net.IPAddress.Loopback, 0));
            await pair.Client.ConnectAsync(pair.Server.LocalPeerId, listener.LocalEndPoint);
            pair._drain = Task.Run(async () =>
            {
                await foreach (var _ in pair.Server.ReceiveAllAsync())
                {
                    if (Interlocked.Increment(ref pair._received) == Volatile.Read(ref pair._expected))
                        pair._done[0].TrySetResult();
                }
            });
            return pair;
        }

        /// <summary>Round trips in microseconds, sorted.</summary>
        public async Task<double[]> PingAsync(int count)
        {
            var micros = new double[count];
            for (var i = 0; i < count; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await Client.PingAsync(Server.LocalPeerId);
                micros[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
            Array.Sort(micros);
            return micros;
        }

        /// <summary>Messages per second, from the first send to the last message received.</summary>
        public async Task<double> SendAsync(int count)
        {
            var payload = new byte[PayloadSize];
            _done[0] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _expected, Volatile.Read(ref _received) + count);
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < count; i++)
                await Client.SendAsync(Server.LocalPeerId, payload);
            await _done[0].Task;
            return count / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
            await _drain;
        }
    }
}
