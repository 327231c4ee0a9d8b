using System.Globalization;
using System.Runtime.InteropServices;

namespace QuDag.Benchmarks;

/// <summary>
/// Where a process's resident memory lies, from /proc/&lt;pid&gt;/smaps, mapping by mapping:
/// <list type="bullet">
/// <item>GC heap: the anonymous mappings inside the GC's reserved range (with regions, one contiguous reservation of
/// many GiB, committed piece by piece: the one anonymous run of at least 16 GiB);</item>
/// <item>malloc: glibc's main arena ([heap], grown with brk) and its thread arenas (anonymous heaps of exactly 64 MiB,
/// 64 MiB-aligned, committed from their start); OpenSSL allocates with malloc;</item>
/// <item>thread stacks: the mappings that hold a thread's stack pointer (/proc/&lt;pid&gt;/task/&lt;tid&gt;/syscall), and
/// [stack];</item>
/// <item>files: mapped libraries and assemblies; runtime code: /memfd:doublemapper (JIT code and stubs, mapped
/// twice: counted once per mapping, as the kernel counts RSS);</item>
/// <item>other anonymous: everything else (the runtime's loader heaps and bookkeeping, large malloc blocks that glibc
/// maps on their own: above its mmap threshold).</item>
/// </list>
/// Plus glibc's own account (mallinfo2, summed over all arenas): bytes in use, bytes free inside the arenas, bytes in
/// separately mapped blocks; and the number of threads and of malloc heaps (the main arena plus every 64 MiB heap of
/// the thread arenas; an arena that outgrows one heap takes another).
/// </summary>
internal static class NativeMemory
{
    private const long ArenaSize = 64L << 20;

    internal sealed record Breakdown(long Rss, long GcHeap, long MallocMain, long MallocArenas, long ThreadStacks, long Files, long RuntimeCode,
        long OtherAnon, int Threads, int Arenas, long MallocInUse, long MallocFree, long MallocMapped)
    {
        public long Malloc => MallocMain + MallocArenas;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, OrdBlks, SmBlks, HBlks, HBlkHd, UsmBlks, FsmBlks, UordBlks, FordBlks, KeepCost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 MallInfo();

    [DllImport("libc", EntryPoint = "malloc_trim")]
    internal static extern int MallocTrim(nuint pad);

    private readonly record struct Vma(ulong Start, ulong End, string Perms, string Path, long Rss);

    /// <summary>This process, with glibc's own figures.</summary>
    public static Breakdown ReadSelf()
    {
        var info = MallInfo();
        return Read(Environment.ProcessId) with
        {
            MallocInUse = (long)info.UordBlks,
            MallocFree = (long)info.FordBlks,
            MallocMapped = (long)info.HBlkHd,
        };
    }

    public static Breakdown Read(int pid)
    {
        var vmas = ReadVmas(pid);
        var stackPointers = StackPointers(pid);
        var gc = GcRange(vmas);
        long gcHeap = 0, main = 0, arenas = 0, stacks = 0, files = 0, code = 0, other = 0, total = 0;
        var arenaStarts = ArenaStarts(vmas);
        var arenaCount = 0;
        foreach (var v in vmas)
        {
            total += v.Rss;
            if (v.Path == "[heap]")
                main += v.Rss;
            else if (v.Path == "[stack]" || stackPointers.Any(sp => sp >= v.Start && sp < v.End))
                stacks += v.Rss;
            else if (v.Path.StartsWith("/memfd:doublemapper", StringComparison.Ordinal))
                code += v.Rss;
            else if (v.Path.StartsWith('/'))
                files += v.Rss;
            else if (v.Path.Length > 0)
                other += v.Rss; // [vdso], [vvar], other named kernel mappings
            else if (v.Start >= gc.Start && v.End <= gc.End)
                gcHeap += v.Rss;
            else if (arenaStarts.Any(a => v.Start >= a && v.End <= a + ArenaSize))
                arenas += v.Rss;
            else
                other += v.Rss;
        }
        arenaCount = arenaStarts.Count + 1;
        return new Breakdown(total, gcHeap, main, arenas, stacks, files, code, other, stackPointers.Count, arenaCount, 0, 0, 0);
    }

    private static List<Vma> ReadVmas(int pid)
    {
        var list = new List<Vma>();
        ulong start = 0, end = 0;
        string perms = "", path = "";
        var inVma = false;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var dash = line.IndexOf('-');
            if (dash > 0 && dash < 17 && IsHex(line.AsSpan(0, dash)))
            {
                var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                var range = parts[0].Split('-');
                start = ulong.Parse(range[0], NumberStyles.HexNumber);
                end = ulong.Parse(range[1], NumberStyles.HexNumber);
                perms = parts[1];
                path = parts.Length > 5 ? parts[5].Trim() : "";
                inVma = true;
            }
            else if (inVma && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line.AsSpan(4).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture);
                list.Add(new Vma(start, end, perms, path, kb * 1024));
                inVma = false;
            }
        }
        return list;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiHexDigit(c))
                return false;
        }
        return s.Length > 0;
    }

    /// <summary>The stack pointer of every thread that is in a system call (nearly all of them when we look).</summary>
    private static List<ulong> StackPointers(int pid)
    {
        var list = new List<ulong>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                // "nr arg1 .. arg6 sp pc", or "running", or "-1 sp pc" for a thread not in a system call.
                var fields = File.ReadAllText(Path.Combine(task, "syscall")).Trim().Split(' ');
                if (fields.Length >= 3)
                    list.Add(Convert.ToUInt64(fields[^2], 16));
                else
                    list.Add(0); // running this very read: this thread; its stack is found through another thread rarely
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }
        return list;
    }

    /// <summary>The GC's reservation: the longest run of adjacent anonymous mappings, if it spans at least 16 GiB.</summary>
    private static (ulong Start, ulong End) GcRange(List<Vma> vmas)
    {
        (ulong Start, ulong End) best = (0, 0);
        var i = 0;
        while (i < vmas.Count)
        {
            if (vmas[i].Path.Length != 0)
            {
                i++;
                continue;
            }
            var j = i;
            while (j + 1 < vmas.Count && vmas[j + 1].Path.Length == 0 && vmas[j + 1].Start == vmas[j].End)
                j++;
            if (vmas[j].End - vmas[i].Start > best.End - best.Start)
                best = (vmas[i].Start, vmas[j].End);
            i = j + 1;
        }
        return best.End - best.Start >= 16UL << 30 ? best : (0, 0);
    }

    /// <summary>glibc thread arenas: 64 MiB-aligned anonymous heaps whose mappings (read-write, then reserved) span 64 MiB.</summary>
    private static List<ulong> ArenaStarts(List<Vma> vmas)
    {
        var starts = new List<ulong>();
        for (var i = 0; i < vmas.Count; i++)
        {
            var v = vmas[i];
            if (v.Path.Length != 0 || v.Start % ArenaSize != 0 || !v.Perms.StartsWith("rw", StringComparison.Ordinal))
                continue;
            var end = v.End;
            var j = i;
            while (j + 1 < vmas.Count && vmas[j + 1].Path.Length == 0 && vmas[j + 1].Start == end && end - v.Start < ArenaSize)
                end = vmas[++j].End;
            if (end - v.Start == ArenaSize)
                starts.Add(v.Start);
        }
        return starts;
    }

    /// <summary>One line per category: (after − before) per connection, in KiB.</summary>
    public static void Report(string what, Breakdown before, Breakdown after, int n)
    {
        static string K(long bytes, int n) => (bytes / (double)n / 1024).ToString("0.0", CultureInfo.InvariantCulture);
        Console.WriteLine($"  {what,-22} RSS {K(after.Rss - before.Rss, n)} KiB/conn = GC heap {K(after.GcHeap - before.GcHeap, n)}" +
            $" + malloc {K(after.Malloc - before.Malloc, n)} (main {K(after.MallocMain - before.MallocMain, n)}, thread arenas {K(after.MallocArenas - before.MallocArenas, n)})" +
            $" + stacks {K(after.ThreadStacks - before.ThreadStacks, n)} + files {K(after.Files - before.Files, n)} + code {K(after.RuntimeCode - before.RuntimeCode, n)}" +
            $" + other anon {K(after.OtherAnon - before.OtherAnon, n)}; threads {before.Threads} -> {after.Threads}, malloc heaps {before.Arenas} -> {after.Arenas}");
        if (after.MallocInUse > 0)
        {
            Console.WriteLine($"  {"",-22} glibc: in use {K(after.MallocInUse - before.MallocInUse, n)} KiB/conn, free inside arenas {K(after.MallocFree - before.MallocFree, n)}," +
                $" mapped blocks {K(after.MallocMapped - before.MallocMapped, n)}; totals after: in use {after.MallocInUse >> 20} MiB, free {after.MallocFree >> 20} MiB," +
                $" RSS of arenas {after.Malloc >> 20} MiB, GC heap {after.GcHeap >> 20} MiB, all {after.Rss >> 20} MiB");
        }
    }
}
