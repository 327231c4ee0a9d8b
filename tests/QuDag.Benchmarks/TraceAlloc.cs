using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace QuDag.Benchmarks;

/// <summary>
/// trace-alloc &lt;file.nettrace&gt; [N]: what allocates, from the runtime's allocation samples (one event per ~100 KB
/// allocated, naming the type of the object that crossed it) in a trace profile.sh took with
/// <c>TRACE_EXTRA="--clrevents gc+stack --clreventlevel verbose"</c>. Prints the top N
/// types by sampled bytes, and the top N allocation sites: the innermost frame of our code (QuDag.*) or, where none is
/// on the stack, of PowerShell's engine, so a share reads as "ours" or "the engine's".
/// </summary>
internal static class TraceAlloc
{
    public static int Run(string path, int top)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(path);
        using var log = new TraceLog(etlx);
        var byType = new Dictionary<string, double>();
        var bySite = new Dictionary<string, double>();
        double total = 0;
        foreach (var data in log.Events)
        {
            if (data is not GCAllocationTickTraceData tick)
                continue;
            double bytes = tick.AllocationAmount64;
            total += bytes;
            byType[tick.TypeName] = byType.GetValueOrDefault(tick.TypeName) + bytes;
            string? ours = null, engine = null, first = null;
            for (var frame = data.CallStack(); frame is not null; frame = frame.Caller)
            {
                var name = frame.CodeAddress.FullMethodName;
                if (string.IsNullOrEmpty(name))
                    continue;
                first ??= name;
                if (ours is null && name.StartsWith("QuDag.", StringComparison.Ordinal) && !name.StartsWith("QuDag.Benchmarks", StringComparison.Ordinal))
                    ours = name;
                if (engine is null && name.StartsWith("System.Management.Automation", StringComparison.Ordinal))
                    engine = name;
            }
            var site = ours is not null ? "ours: " + ours : engine is not null ? "engine: " + engine : "other: " + (first ?? "?");
            site += "  [" + tick.TypeName + "]";
            bySite[site] = bySite.GetValueOrDefault(site) + bytes;
        }
        Console.WriteLine($"{path}: {total / 1e6:0.0} MB allocated in the samples");
        Console.WriteLine($"top {top} types:");
        foreach (var (type, bytes) in byType.OrderByDescending(kv => kv.Value).Take(top))
            Console.WriteLine($"  {bytes / total,6:P1}  {type}");
        Console.WriteLine($"top {top} sites (innermost frame of ours, else of the engine):");
        foreach (var (site, bytes) in bySite.OrderByDescending(kv => kv.Value).Take(top))
            Console.WriteLine($"  {bytes / total,6:P1}  {site}");
        return 0;
    }
}
