namespace QuDag.Benchmarks.Libp2p;

/// <summary>This process's memory after full blocking collections: managed heap and resident set.</summary>
public static class ProcessMemory
{
    public static (long Managed, long Rss) Measure()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return (GC.GetTotalMemory(forceFullCollection: true), StatusField("VmRSS:"));
    }

    /// <summary>A kB field of /proc/self/status (VmRSS, VmHWM), in bytes.</summary>
    public static long StatusField(string name)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(name, StringComparison.Ordinal))
                return long.Parse(line[name.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException($"/proc/self/status has no {name}");
    }
}
