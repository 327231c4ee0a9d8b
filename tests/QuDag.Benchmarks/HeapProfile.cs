using System.Diagnostics;
using System.Net;
using System.Net.Security;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Runtime;
using Microsoft.Extensions.Time.Testing;
using QuDag.Network;

namespace QuDag.Benchmarks;

/// <summary>
/// Checks group 5's memory method against a heap dump. Opens N idle connections (remote ends in child processes,
/// as 'scale' does), dumps this process before and after with DiagnosticsClient.WriteDump, and reads both dumps
/// with ClrMD: the per-type difference divided by N is what one idle connection end costs, and the referrer
/// chains of the biggest types say who holds them. The GC.GetTotalMemory figure that 'scale' reports is printed
/// beside it, from the same run, so the two methods can be compared.
/// </summary>
internal static class HeapProfile
{
    public static async Task<int> RunAsync(int n, string which, string directory)
    {
        Directory.CreateDirectory(directory);
        var children = new List<Process>();
        var runs = new List<(string Name, Snapshot Before, Snapshot After)>();
        try
        {
            if (which is "qudag" or "both")
            {
                var peers = await Scale.StartPeersAsync(n, children);
                runs.Add(await MeasureManagerAsync(peers, directory));
            }
            if (which is "bare" or "both")
            {
                var endPoint = await Scale.StartBarePeerAsync(children);
                runs.Add(await MeasureBareAsync(endPoint, n, directory, "bare"));
            }
            if (which is "bare-noresume")
            {
                // The same, against a server that sends no TLS 1.3 session tickets after the handshake.
                var endPoint = await Scale.StartBarePeerAsync(children, resume: false);
                runs.Add(await MeasureBareAsync(endPoint, n, directory, "bare-noresume"));
            }
        }
        finally
        {
            Scale.StopChildren(children);
        }
        foreach (var (name, before, after) in runs)
            Analyse(name, before, after, n);
        return 0;
    }

    /// <summary>What 'scale' reads (GC.GetTotalMemory after forced compacting collections), GC's own view, and a dump.</summary>
    private sealed record Snapshot(long TotalMemory, long HeapSize, long Fragmented, long Committed, long PinnedObjects, string DumpPath);

    private static async Task<(string, Snapshot, Snapshot)> MeasureManagerAsync(List<(PeerId Id, IPEndPoint EndPoint)> peers, string directory)
    {
        var n = peers.Count;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var manager = new ConnectionManager(new ConnectionManagerOptions
        {
            MaxConnections = n,
            PoolTimeout = TimeSpan.FromMinutes(1),
            TimeProvider = time,
            ConnectTimeout = TimeSpan.FromMinutes(10),
        });
        var before = Take(Path.Combine(directory, "qudag-before.dmp"));
        await Parallel.ForEachAsync(peers, new ParallelOptions { MaxDegreeOfParallelism = 64 },
            async (peer, ct) => await manager.ConnectAsync(peer.Id, peer.EndPoint, ct));
        foreach (var peer in peers)
            await manager.DisconnectAsync(peer.Id);
        Console.WriteLine($"qudag: {manager.GetPooledConnections().Count} idle pooled connections");
        var after = Take(Path.Combine(directory, "qudag-idle.dmp"));
        await manager.DisposeAsync();
        return ("QuDag idle PeerConnection", before, after);
    }

    private static async Task<(string, Snapshot, Snapshot)> MeasureBareAsync(IPEndPoint endPoint, int n, string directory, string name)
    {
        using var identity = NodeIdentity.Create();
        var options = TlsSettings.Client(identity);
        var streams = new SslStream[n];
        var before = Take(Path.Combine(directory, name + "-before.dmp"));
        await Parallel.ForAsync(0, n, new ParallelOptions { MaxDegreeOfParallelism = 64 },
            async (i, _) => streams[i] = await BareTlsServer.ConnectAsync(endPoint, options));
        // As in 'scale': each keeps a zero-byte read pending, like the manager's idle connections.
        var pending = streams.Select(s => s.ReadAsync(Memory<byte>.Empty).AsTask()).ToArray();
        var after = Take(Path.Combine(directory, name + "-idle.dmp"));
        foreach (var s in streams)
            await s.DisposeAsync();
        await Task.WhenAll(pending.Select(p => p.ContinueWith(_ => { }, TaskScheduler.Default)));
        return ($"{name} SslStream, zero-byte read pending", before, after);
    }

    private static Snapshot Take(string dumpPath)
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        var total = GC.GetTotalMemory(forceFullCollection: true);
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        var watch = Stopwatch.StartNew();
        new DiagnosticsClient(Environment.ProcessId).WriteDump(DumpType.WithHeap, dumpPath, logDumpGeneration: false);
        Console.WriteLine($"dumped {dumpPath} ({new FileInfo(dumpPath).Length / 1048576} MiB) in {watch.Elapsed.TotalSeconds:0.0} s");
        return new Snapshot(total, info.HeapSizeBytes, info.FragmentedBytes, info.TotalCommittedBytes, info.PinnedObjectsCount, dumpPath);
    }

    // The dumps are of this very runtime: its own DAC reads them (ClrMD 4 neither finds it by itself on Linux nor reads the runtime version from a createdump core, hence ignoreMismatch).
    private static ClrRuntime Open(DataTarget target) => target.ClrVersions[0].CreateRuntime(
        Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "libmscordaccore.so"), ignoreMismatch: true);

    private sealed class HeapStats
    {
        public readonly Dictionary<string, (long Count, long Bytes)> ByType = [];
        public long LiveBytes;
        public long FreeBytes;
        public long Objects;
    }

    private static HeapStats Count(ClrHeap heap)
    {
        var stats = new HeapStats();
        foreach (var obj in heap.EnumerateObjects(carefully: true))
        {
            var size = (long)obj.Size;
            if (obj.IsFree)
            {
                stats.FreeBytes += size;
                continue;
            }
            stats.Objects++;
            stats.LiveBytes += size;
            var name = obj.Type?.Name ?? "?";
            stats.ByType[name] = stats.ByType.TryGetValue(name, out var c) ? (c.Count + 1, c.Bytes + size) : (1, size);
        }
        return stats;
    }

    /// <summary>heap-diff &lt;before.dmp&gt; &lt;after.dmp&gt; &lt;count&gt;: the dump analysis alone, for dumps kept from an earlier run.</summary>
    public static int Diff(string before, string after, int n)
    {
        Analyse(Path.GetFileName(after), new Snapshot(0, 0, 0, 0, 0, before), new Snapshot(0, 0, 0, 0, 0, after), n);
        return 0;
    }

    private static void Analyse(string name, Snapshot before, Snapshot after, int n)
    {
        Console.WriteLine();
        Console.WriteLine($"=== {name}: {n} connections ===");
        if (after.TotalMemory != 0)
        {
            Console.WriteLine($"GC.GetTotalMemory delta ('scale' method): {(after.TotalMemory - before.TotalMemory) / (double)n / 1024:0.00} KiB/conn");
            Console.WriteLine($"GCMemoryInfo delta: heap size {(after.HeapSize - before.HeapSize) / (double)n / 1024:0.00} KiB/conn, " +
                $"fragmented (free space) {(after.Fragmented - before.Fragmented) / (double)n / 1024:0.00} KiB/conn, " +
                $"committed {(after.Committed - before.Committed) / (double)n / 1024:0.00} KiB/conn, pinned objects +{after.PinnedObjects - before.PinnedObjects}");
        }

        HeapStats b, a;
        using (var target = DataTarget.LoadDump(before.DumpPath))
            b = Count(Open(target).Heap);
        using var afterTarget = DataTarget.LoadDump(after.DumpPath);
        var heap = Open(afterTarget).Heap;
        a = Count(heap);
        Console.WriteLine($"dump delta: live objects {(a.LiveBytes - b.LiveBytes) / (double)n / 1024:0.00} KiB/conn " +
            $"({(a.Objects - b.Objects) / (double)n:0.0} objects/conn), free blocks {(a.FreeBytes - b.FreeBytes) / (double)n / 1024:0.00} KiB/conn");

        var diff = a.ByType
            .Select(kv =>
            {
                var old = b.ByType.GetValueOrDefault(kv.Key);
                return (Type: kv.Key, Count: kv.Value.Count - old.Count, Bytes: kv.Value.Bytes - old.Bytes);
            })
            .Where(d => d.Bytes != 0)
            .OrderByDescending(d => d.Bytes)
            .ToList();
        var top = diff.Take(60).ToList();
        Console.WriteLine($"{"bytes/conn",10} {"objs/conn",9} {"share",6}  type (dump delta, top 60 of {diff.Count})");
        var totalDelta = (double)(a.LiveBytes - b.LiveBytes);
        foreach (var d in top)
            Console.WriteLine($"{d.Bytes / (double)n,10:0.0} {d.Count / (double)n,9:0.00} {d.Bytes / totalDelta,6:P0}  {Short(d.Type)}");

        Referrers(heap, top.Take(12).Select(d => d.Type).ToHashSet(), n);
    }

    /// <summary>For the biggest types: which objects hold their instances (parent and grandparent type), in bytes per connection.</summary>
    private static void Referrers(ClrHeap heap, HashSet<string> types, int n)
    {
        var targets = new Dictionary<ulong, (string Type, long Size, int Length)>();
        foreach (var obj in heap.EnumerateObjects(carefully: true))
        {
            if (!obj.IsFree && obj.Type?.Name is { } t && types.Contains(t))
                targets[obj.Address] = (t, (long)obj.Size, obj.IsArray ? obj.AsArray().Length : -1);
        }
        var parents = FirstReferrers(heap, targets.Keys.ToHashSet());
        var grandparents = FirstReferrers(heap, parents.Values.Select(p => p.Address).ToHashSet());
        var roots = new Dictionary<ulong, string>();
        foreach (var root in heap.EnumerateRoots())
            roots.TryAdd(root.Object.Address, "[root: " + root.RootKind + "]");

        string Holder(ulong address, Dictionary<ulong, (ulong Address, string Type)> map) =>
            map.TryGetValue(address, out var p) ? Short(p.Type) : roots.GetValueOrDefault(address, "[unreferenced]");

        Console.WriteLine("who holds them (first referrer found, then its referrer):");
        foreach (var group in targets.GroupBy(t => t.Value.Type).OrderByDescending(g => g.Sum(t => t.Value.Size)))
        {
            Console.WriteLine($"  {Short(group.Key)}");
            var byHolder = group
                .GroupBy(t =>
                {
                    var parent = Holder(t.Key, parents);
                    var grand = parents.TryGetValue(t.Key, out var p) ? Holder(p.Address, grandparents) : "";
                    var length = t.Value.Length >= 0 ? $" [length {t.Value.Length}]" : "";
                    return $"{parent} <- {grand}{length}";
                })
                .Select(g => (Key: g.Key, Count: g.Count(), Bytes: g.Sum(t => t.Value.Size)))
                .OrderByDescending(g => g.Bytes)
                .Take(6);
            foreach (var h in byHolder)
                Console.WriteLine($"    {h.Bytes / (double)n,9:0.0} B/conn {h.Count / (double)n,7:0.00}/conn  held by {h.Key}");
        }
    }

    private static Dictionary<ulong, (ulong Address, string Type)> FirstReferrers(ClrHeap heap, HashSet<ulong> targets)
    {
        var found = new Dictionary<ulong, (ulong, string)>();
        foreach (var obj in heap.EnumerateObjects(carefully: true))
        {
            if (obj.IsFree)
                continue;
            foreach (var reference in obj.EnumerateReferenceAddresses(carefully: false, considerDependantHandles: true))
            {
                if (targets.Contains(reference) && !found.ContainsKey(reference))
                    found[reference] = (obj.Address, obj.Type?.Name ?? "?");
            }
        }
        return found;
    }

    private static string Short(string type)
    {
        var s = type
            .Replace("System.Threading.Tasks.", "")
            .Replace("System.Runtime.CompilerServices.", "")
            .Replace("System.Collections.Concurrent.", "")
            .Replace("System.Net.Security.", "")
            .Replace("System.Net.Sockets.", "")
            .Replace("System.IO.Pipelines.", "")
            .Replace("QuDag.Network.", "");
        return s.Length > 140 ? s[..137] + "..." : s;
    }
}
