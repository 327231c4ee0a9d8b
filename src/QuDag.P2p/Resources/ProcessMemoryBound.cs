namespace QuDag.P2p.Resources;

/// <summary>
/// Refuses new connections while the process's resident memory is over a bound (rust-libp2p's
/// memory-connection-limits): a last guard when something outside the scopes' accounting grows. The reading is
/// refreshed at most every 100 ms, as rust's, so a burst of connects costs one read.
/// </summary>
internal sealed class ProcessMemoryBound(Func<long?> maxBytes, TimeProvider time, Func<long> readResidentBytes)
{
    private static readonly TimeSpan MaxStale = TimeSpan.FromMilliseconds(100);
    private long _readAt;
    private long _bytes;

    /// <summary>The resident memory of this process (Environment.WorkingSet reads /proc/self on Linux).</summary>
    public static long ReadResidentBytes() => Environment.WorkingSet;

    /// <summary>Null when under the bound (or none is set); otherwise the refusal.</summary>
    public ResourceLimitExceededException? Check()
    {
        if (maxBytes() is not { } max)
            return null;
        long now = time.GetTimestamp();
        long readAt = Volatile.Read(ref _readAt);
        if (readAt == 0 || time.GetElapsedTime(readAt, now) >= MaxStale)
        {
            Volatile.Write(ref _bytes, readResidentBytes());
            Volatile.Write(ref _readAt, Math.Max(now, 1));
        }
        long bytes = Volatile.Read(ref _bytes);
        return bytes > max ? new ResourceLimitExceededException(ResourceScopeKind.Process, "", "bytes of resident memory", bytes, max) : null;
    }
}
