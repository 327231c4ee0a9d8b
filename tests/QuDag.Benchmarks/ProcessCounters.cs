using System.Diagnostics;
using System.Globalization;

namespace QuDag.Benchmarks;

/// <summary>
/// A process's load-robust counters (thread-pool work items completed, managed bytes allocated, exceptions thrown):
/// unlike wall time they hardly move with what else runs on the machine. The remote-end children answer a "COUNTERS"
/// line on their input with theirs, so a close can be counted on both ends.
/// </summary>
internal readonly record struct ProcessCounters(long WorkItems, long Allocated, long Exceptions)
{
    private static long s_exceptions;

    static ProcessCounters() => AppDomain.CurrentDomain.FirstChanceException += (_, _) => Interlocked.Increment(ref s_exceptions);

    /// <summary>Starts counting exceptions in this process (the counter counts from its first use).</summary>
    public static void Init() => _ = Interlocked.Read(ref s_exceptions);

    public static ProcessCounters Now => new(ThreadPool.CompletedWorkItemCount, GC.GetTotalAllocatedBytes(), Interlocked.Read(ref s_exceptions));

    public static ProcessCounters operator -(ProcessCounters a, ProcessCounters b) => new(a.WorkItems - b.WorkItems, a.Allocated - b.Allocated, a.Exceptions - b.Exceptions);

    public static ProcessCounters operator +(ProcessCounters a, ProcessCounters b) => new(a.WorkItems + b.WorkItems, a.Allocated + b.Allocated, a.Exceptions + b.Exceptions);

    /// <summary>Per operation: "w work items, e exceptions, k KiB allocated".</summary>
    public string Per(int count) => string.Create(CultureInfo.InvariantCulture,
        $"{WorkItems / (double)count:0.0} thread-pool work items, {Exceptions / (double)count:0.00} exceptions thrown, {Allocated / (double)count / 1024:0.00} KiB allocated");

    /// <summary>
    /// Child side: waits until the input closes (the parent's signal to exit), answering each "COUNTERS" line with
    /// "COUNTERS workItems allocated exceptions".
    /// </summary>
    public static async Task ServeUntilInputEndsAsync()
    {
        Init();
        while (await Console.In.ReadLineAsync() is { } line)
        {
            if (line == "COUNTERS")
            {
                var now = Now;
                Console.WriteLine($"COUNTERS {now.WorkItems} {now.Allocated} {now.Exceptions}");
            }
        }
    }

    /// <summary>Parent side: the sum of the children's counters (each child must run <see cref="ServeUntilInputEndsAsync"/>
    /// and have printed nothing else since its READY line).</summary>
    public static async Task<ProcessCounters> OfChildrenAsync(IEnumerable<Process> children)
    {
        var sum = default(ProcessCounters);
        foreach (var child in children)
        {
            await child.StandardInput.WriteLineAsync("COUNTERS");
            await child.StandardInput.FlushAsync();
            var line = await child.StandardOutput.ReadLineAsync()
                ?? throw new InvalidOperationException($"Child {child.Id} ended before answering COUNTERS.");
            var parts = line.Split(' ');
            if (parts is not ["COUNTERS", var w, var a, var e])
                throw new InvalidOperationException($"Child {child.Id} answered '{line}' to COUNTERS.");
            sum += new ProcessCounters(long.Parse(w, CultureInfo.InvariantCulture), long.Parse(a, CultureInfo.InvariantCulture),
                long.Parse(e, CultureInfo.InvariantCulture));
        }
        return sum;
    }
}
