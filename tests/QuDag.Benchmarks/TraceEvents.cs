using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;

namespace QuDag.Benchmarks;

/// <summary>
/// trace-events &lt;file.nettrace&gt; [N] [depth]: who causes the work items, allocations and exceptions a trace counted.
/// For a trace taken with the thread pool's enqueue events, allocation ticks and exceptions on (profile.sh with
/// <c>TRACE_PROFILE=events</c>), it groups each kind by the managed stack that raised it (the first <c>depth</c> frames
/// outside the runtime's plumbing) and prints the top N groups with their counts: enqueues per stack, allocated bytes per
/// type and stack (AllocationTick samples about every 100 KB, so shares, not exact bytes), exceptions per type and stack.
/// </summary>
internal static class TraceEvents
{
    // Frames that only carry the event to where it came from (threading, async builders, event sources): skipped so the
    // groups name the code that caused it.
    private static readonly string[] Plumbing = ["System.Threading.", "System.Runtime.CompilerServices.", "System.Diagnostics.Tracing."];

    public static int Run(string path, int top, int depth)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(path);
        using var log = new TraceLog(etlx);
        var enqueues = new Dictionary<string, double>();
        var allocations = new Dictionary<string, double>();
        var exceptions = new Dictionary<string, double>();
        double enqueueCount = 0, allocated = 0, exceptionCount = 0;
        foreach (var data in log.Events)
        {
            switch (data.EventName)
            {
                case var name when name.StartsWith("ThreadPoolEnqueueWork", StringComparison.Ordinal):
                    enqueueCount++;
                    Add(enqueues, Stack(data, depth), 1);
                    break;
                case "GC/AllocationTick":
                    var amount = Convert.ToDouble(data.PayloadByName("AllocationAmount64") ?? data.PayloadByName("AllocationAmount"));
                    allocated += amount;
                    Add(allocations, $"{data.PayloadByName("TypeName")} <- {Stack(data, depth)}", amount);
                    break;
                case "Exception/Start":
                    exceptionCount++;
                    Add(exceptions, $"{data.PayloadByName("ExceptionType")}: {data.PayloadByName("ExceptionMessage")} <- {Stack(data, depth)}", 1);
                    break;
            }
        }
        Print($"thread-pool enqueues: {enqueueCount:N0}", enqueues, enqueueCount, top);
        Print($"allocation ticks: {allocated / 1024 / 1024:N1} MiB sampled", allocations, allocated, top);
        Print($"exceptions: {exceptionCount:N0}", exceptions, exceptionCount, top);
        return 0;
    }

    private static void Add(Dictionary<string, double> groups, string key, double weight) => groups[key] = groups.GetValueOrDefault(key) + weight;

    private static void Print(string title, Dictionary<string, double> groups, double total, int top)
    {
        Console.WriteLine(title);
        foreach (var (key, weight) in groups.OrderByDescending(kv => kv.Value).Take(top))
            Console.WriteLine($"  {weight / Math.Max(total, 1),6:P1} {weight,10:N0}  {key}");
    }

    /// <summary>The first <paramref name="depth"/> frames of the event's stack outside the plumbing, leaf first.</summary>
    private static string Stack(TraceEvent data, int depth)
    {
        var frames = new List<string>();
        var skipped = 0;
        for (var frame = data.CallStack(); frame is not null && frames.Count < depth; frame = frame.Caller)
        {
            var full = frame.CodeAddress.FullMethodName;
            if (full.Length == 0 || Plumbing.Any(p => full.StartsWith(p, StringComparison.Ordinal)))
            {
                skipped++;
                continue;
            }
            frames.Add(Simplify(full));
        }
        return frames.Count == 0 ? $"(plumbing only, {skipped} frames)" : string.Join(" < ", frames);
    }

    private static string Simplify(string frame)
    {
        var paren = frame.IndexOf('(');
        var name = paren > 0 ? frame[..paren] : frame;
        foreach (var ns in (string[])["System.Threading.Tasks.Sources.", "System.Threading.Tasks.", "System.Threading.", "System.Net.Sockets.",
                     "System.Net.", "System.IO.", "System.Collections.Concurrent.", "Microsoft.Extensions.Caching.Memory.",
                     "QuDag.P2p.Muxing.Yamux.", "QuDag.P2p.Security.Noise.", "QuDag.P2p.Transport.Tcp.", "QuDag.P2p.Upgrade.",
                     "QuDag.P2p.Host.", "QuDag.P2p.", "QuDag.Network.", "System."])
            name = name.Replace(ns, "");
        return name;
    }
}
