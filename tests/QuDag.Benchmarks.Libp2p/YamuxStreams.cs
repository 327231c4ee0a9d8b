using System.Diagnostics;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>
/// The 1,000 streams x 4 KiB workload with its memory: peak managed heap (sampled every millisecond) and the peak RSS
/// rise, against the bound the windows set (streams x the 256 KiB initial window, per side).
/// </summary>
public static class YamuxStreams
{
    public static async Task<int> RunAsync(int streams, int bytes)
    {
        const int rounds = 7;
        long rssAtStart = ProcessMemory.StatusField("VmRSS:");
        // Warm-up: one untimed round (JIT, pools).
        await using (var warm = await YamuxSessions.CreateAsync().ConfigureAwait(false))
            await warm.ManyStreamsAsync(streams, bytes, CancellationToken.None).ConfigureAwait(false);
        var times = new List<double>();
        var peaks = new List<double>();
        var allocated = new List<double>();
        var (baseManaged, baseRss) = ProcessMemory.Measure();
        for (int r = 0; r < rounds; r++)
        {
            await using var sessions = await YamuxSessions.CreateAsync().ConfigureAwait(false);
            ProcessMemory.Measure();
            long peak = 0;
            using var done = new CancellationTokenSource();
            var sampler = new Thread(() =>
            {
                while (!done.IsCancellationRequested)
                {
                    peak = Math.Max(peak, GC.GetTotalMemory(false));
                    Thread.Sleep(1);
                }
            }) { IsBackground = true };
            sampler.Start();
            long t0 = Stopwatch.GetTimestamp();
            long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
            await sessions.ManyStreamsAsync(streams, bytes, CancellationToken.None).ConfigureAwait(false);
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            allocated.Add(GC.GetTotalAllocatedBytes(precise: true) - allocated0);
            done.Cancel();
            sampler.Join();
            peaks.Add(peak - baseManaged);
        }
        long hwm = ProcessMemory.StatusField("VmHWM:");
        double windowBound = 2.0 * streams * QuDag.P2p.Muxing.Yamux.YamuxOptions.SpecInitialWindow;
        Console.WriteLine($"yamux {streams} streams x {bytes} B, {rounds} rounds, load average {JsCompare.LoadAverage()}");
        Console.WriteLine($"time: median {Stats.Median(times):0.0} ms (rounds {string.Join(", ", times.Select(t => t.ToString("0.0")))})");
        Console.WriteLine($"allocated per round: median {Stats.Median(allocated) / (1 << 20):0.00} MiB ({Stats.Median(allocated) / streams / 1024:0.0} KiB per stream)");
        Console.WriteLine($"peak managed heap above the baseline, garbage included (sampled every ms): median {Stats.Median(peaks) / (1 << 20):0.00} MiB, max {peaks.Max() / (1 << 20):0.00} MiB");
        Console.WriteLine($"RSS: {rssAtStart / (1 << 20):0.0} MiB before the warm-up, {baseRss / (1 << 20):0.0} MiB after it, peak (VmHWM) {hwm / (1 << 20):0.0} MiB");
        Console.WriteLine($"bound set by the windows (both sides, streams x 256 KiB): {windowBound / (1 << 20):0} MiB; payload {(double)streams * bytes / (1 << 20):0.0} MiB");
        return 0;
    }
}
