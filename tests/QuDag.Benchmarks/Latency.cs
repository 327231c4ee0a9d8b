using System.Diagnostics;
using QuDag.Network;

namespace QuDag.Benchmarks;

/// <summary>Group 4 percentiles: BenchmarkDotNet reports means; p50/p99 need every round trip timed.</summary>
internal static class Latency
{
    public static async Task<int> RunAsync(int count)
    {
        var bench = new LatencyBenchmarks();
        bench.Setup();
        try
        {
            ThreadPool.GetMinThreads(out var workers, out var io);
            Console.WriteLine($"threadpool min workers={workers} io={io}; DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=" +
                (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") ?? "(unset)"));
            var bare = await MeasureAsync(count, bench.BarePingPong);
            var ours = await MeasureAsync(count, bench.PingAsync);
            Report("bare SslStream ping-pong", bare);
            Report("PingAsync", ours);
            Console.WriteLine($"p50 ratio PingAsync/bare = {Percentile(ours, 0.50) / Percentile(bare, 0.50):0.00}");
            return 0;
        }
        finally
        {
            bench.Cleanup();
        }
    }

    private static async Task<double[]> MeasureAsync(int count, Func<Task> roundTrip)
    {
        for (var i = 0; i < count / 10; i++)
            await roundTrip(); // warm-up
        var micros = new double[count];
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await roundTrip();
            micros[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(micros);
        return micros;
    }

    private static double Percentile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];

    private static void Report(string name, double[] sorted) =>
        Console.WriteLine($"{name,-26} n={sorted.Length} p50={Percentile(sorted, 0.50):0.0} µs p99={Percentile(sorted, 0.99):0.0} µs");
}
