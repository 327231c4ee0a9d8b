using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace QuDag.Benchmarks;

/// <summary>
/// trace-jit &lt;file.nettrace&gt; [N]: what the JIT compiled during a trace taken with the JIT events on
/// (`TRACE_EXTRA="--clrevents jit --clreventlevel verbose" profile.sh ...`): methods and JIT time (from
/// MethodJittingStarted to MethodLoadVerbose on the same thread; wall time, so it includes preemption) by
/// optimization tier and by the type's namespace, and the N most expensive methods.
/// </summary>
internal static class TraceJit
{
    public static int Run(string path, int top)
    {
        using var source = new EventPipeEventSource(path);
        var clr = new ClrTraceEventParser(source);
        var started = new Dictionary<int, double>();
        var methods = new List<(string Name, string Namespace, string Tier, double Ms)>();
        clr.MethodJittingStarted += e => started[e.ThreadID] = e.TimeStampRelativeMSec;
        clr.MethodLoadVerbose += e =>
        {
            if (!started.Remove(e.ThreadID, out var t0))
                return; // rundown, or a method whose start fell before the trace
            var type = e.MethodNamespace;
            methods.Add(($"{type}.{e.MethodName}", Group(type), e.OptimizationTier.ToString(), e.TimeStampRelativeMSec - t0));
        };
        source.Process();
        Console.WriteLine($"{path}: {methods.Count} methods compiled, {methods.Sum(m => m.Ms):N0} ms of JIT (wall time on the compiling threads)");
        Console.WriteLine("by tier:");
        foreach (var g in methods.GroupBy(m => m.Tier).OrderByDescending(g => g.Sum(m => m.Ms)))
            Console.WriteLine($"  {g.Sum(m => m.Ms),8:N0} ms  {g.Count(),6} methods  {g.Key}");
        Console.WriteLine("by namespace:");
        foreach (var g in methods.GroupBy(m => m.Namespace).OrderByDescending(g => g.Sum(m => m.Ms)).Take(top))
            Console.WriteLine($"  {g.Sum(m => m.Ms),8:N0} ms  {g.Count(),6} methods  {g.Key}  ({string.Join(", ", g.GroupBy(m => m.Tier).Select(t => $"{t.Key} {t.Count()}"))})");
        Console.WriteLine($"top {top} methods:");
        foreach (var m in methods.OrderByDescending(m => m.Ms).Take(top))
            Console.WriteLine($"  {m.Ms,8:N1} ms  {m.Tier,-24} {(m.Name.Length > 140 ? m.Name[..140] : m.Name)}");
        return 0;
    }

    // "System.Management.Automation.Language.Compiler" -> "System.Management.Automation.Language"; dynamic methods as one group.
    private static string Group(string type)
    {
        if (type.Length == 0 || type.StartsWith("dynamicClass", StringComparison.Ordinal))
            return "(dynamic methods: compiled expressions, call sites)";
        var generic = type.IndexOfAny(['`', '[', '<', '+']);
        var plain = generic > 0 ? type[..generic] : type;
        var dot = plain.LastIndexOf('.');
        return dot > 0 ? plain[..dot] : plain;
    }
}
