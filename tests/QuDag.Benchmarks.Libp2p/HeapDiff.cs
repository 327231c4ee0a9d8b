using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Runtime;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>
/// Where an idle connection's managed bytes are: a heap dump of an agent before and after it holds N connections
/// (the agent's 'dump' command), diffed by type with ClrMD, the biggest types' holders named (parent type and, for
/// arrays, their length). The older groups' HeapProfile does the same for the manager.
/// </summary>
public static class HeapDiff
{
    /// <summary>Dumps this process after full collections (the agent's 'dump' command).</summary>
    public static void DumpSelf(string path)
    {
        ProcessMemory.Measure();
        new DiagnosticsClient(Environment.ProcessId).WriteDump(DumpType.WithHeap, path, logDumpGeneration: false);
    }

    // QUDAG_HEAP_HOLDERS_MIN lowers the size from which arrays are listed by holder (the byte[]s of a connection are small).
    private static readonly int MinHeld = int.TryParse(Environment.GetEnvironmentVariable("QUDAG_HEAP_HOLDERS_MIN"), out int min) ? min : 1024;
    // QUDAG_HEAP_HOLDERS_TYPE lists the holders of one type's objects too (a type name ending, e.g. "Linked2CancellationTokenSource").
    private static readonly string? HeldType = Environment.GetEnvironmentVariable("QUDAG_HEAP_HOLDERS_TYPE");
    // QUDAG_HEAP_TYPES lists more types than the 25 biggest (the long tail of a connection's small objects).
    private static readonly int TypesShown = int.TryParse(Environment.GetEnvironmentVariable("QUDAG_HEAP_TYPES"), out int types) ? types : 25;

    public static int Run(string before, string after, int n)
    {
        var b = Count(before, null);
        var holders = new Dictionary<string, long>();
        var a = Count(after, holders);
        long delta = a.Values.Sum(v => v.Bytes) - b.Values.Sum(v => v.Bytes);
        Console.WriteLine($"{Path.GetFileName(after)}: live managed +{delta / (double)n / 1024:0.00} KiB per connection ({n} connections)");
        Console.WriteLine($"{"B/conn",10} {"objs/conn",9}  type");
        foreach (var (type, count, bytes) in a.Select(kv => (kv.Key, kv.Value.Count - b.GetValueOrDefault(kv.Key).Count, kv.Value.Bytes - b.GetValueOrDefault(kv.Key).Bytes))
                     .Where(d => d.Item3 > 0).OrderByDescending(d => d.Item3).Take(TypesShown))
            Console.WriteLine($"{bytes / (double)n,10:0.0} {count / (double)n,9:0.00}  {type}");
        Console.WriteLine($"arrays of {MinHeld} B or more in the after dump, by holder type and length (B/conn):");
        foreach (var (key, bytes) in holders.OrderByDescending(h => h.Value).Take(MinHeld < 1024 ? 30 : 15))
            Console.WriteLine($"{bytes / (double)n,10:0.0}  {key}");
        return 0;
    }

    private static Dictionary<string, (long Count, long Bytes)> Count(string dump, Dictionary<string, long>? holders)
    {
        using var target = DataTarget.LoadDump(dump);
        // The dump is of this very runtime version: its own DAC reads it (ClrMD does not find it by itself on Linux).
        var runtime = target.ClrVersions[0].CreateRuntime(
            Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "libmscordaccore.so"), ignoreMismatch: true);
        var heap = runtime.Heap;
        var byType = new Dictionary<string, (long, long)>();
        var large = new Dictionary<ulong, (string Type, long Size, int Length)>();
        foreach (var obj in heap.EnumerateObjects(carefully: true))
        {
            if (obj.IsFree)
                continue;
            string name = obj.Type?.Name ?? "?";
            var c = byType.GetValueOrDefault(name);
            byType[name] = (c.Item1 + 1, c.Item2 + (long)obj.Size);
            if (holders is not null && ((obj.IsArray && obj.Size >= (ulong)MinHeld) || (HeldType is { Length: > 0 } held && name.EndsWith(held, StringComparison.Ordinal))))
                large[obj.Address] = (name, (long)obj.Size, obj.IsArray ? obj.AsArray().Length : 0);
        }
        if (holders is not null)
        {
            var found = new HashSet<ulong>();
            foreach (var obj in heap.EnumerateObjects(carefully: true))
            {
                if (obj.IsFree)
                    continue;
                foreach (ulong reference in obj.EnumerateReferenceAddresses(carefully: false, considerDependantHandles: true))
                    if (large.TryGetValue(reference, out var arr) && found.Add(reference))
                    {
                        string key = $"{arr.Type}[{arr.Length}] held by {obj.Type?.Name ?? "?"}";
                        holders[key] = holders.GetValueOrDefault(key) + arr.Size;
                    }
            }
            foreach (var (address, arr) in large)
                if (!found.Contains(address))
                {
                    string key = $"{arr.Type}[{arr.Length}] held by a root or the pool";
                    holders[key] = holders.GetValueOrDefault(key) + arr.Size;
                }
        }
        return byType;
    }
}
