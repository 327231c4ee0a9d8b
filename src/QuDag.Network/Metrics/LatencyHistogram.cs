namespace QuDag.Network;

/// <summary>
/// A lock-free histogram of durations in logarithmic buckets (each 10% wider than the last, from 1 µs to
/// about 100 s), so recording is one increment and percentiles need no sorting or stored samples.
/// </summary>
internal sealed class LatencyHistogram
{
    private const double Growth = 1.1;
    private static readonly double LogGrowth = Math.Log(Growth);
    private readonly long[] _buckets = new long[200];
    private long _count;
    private long _sumTicks;

    public long Count => Volatile.Read(ref _count);

    public void Record(TimeSpan value)
    {
        var micros = Math.Max(value.Ticks / (double)TimeSpan.TicksPerMicrosecond, 1.0);
        var index = Math.Min((int)(Math.Log(micros) / LogGrowth), _buckets.Length - 1);
        Interlocked.Increment(ref _buckets[index]);
        Interlocked.Add(ref _sumTicks, value.Ticks);
        Interlocked.Increment(ref _count);
    }

    public TimeSpan Mean
    {
        get
        {
            var count = Count;
            return count == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Volatile.Read(ref _sumTicks) / count);
        }
    }

    /// <summary>p50, p95 and p99 in one pass over a copy of the buckets: each the geometric middle of its bucket.</summary>
    public (TimeSpan P50, TimeSpan P95, TimeSpan P99) Percentiles()
    {
        Span<long> counts = stackalloc long[_buckets.Length];
        long total = 0;
        for (var i = 0; i < counts.Length; i++)
            total += counts[i] = Volatile.Read(ref _buckets[i]);
        if (total == 0)
            return default;
        long r50 = Rank(0.50), r95 = Rank(0.95), r99 = Rank(0.99), seen = 0;
        TimeSpan p50 = default, p95 = default, p99 = default;
        for (var i = 0; i < counts.Length && seen < r99; i++)
        {
            if (counts[i] == 0)
                continue;
            seen += counts[i];
            var value = TimeSpan.FromTicks((long)(Math.Pow(Growth, i + 0.5) * TimeSpan.TicksPerMicrosecond));
            if (p50 == default && seen >= r50) p50 = value;
            if (p95 == default && seen >= r95) p95 = value;
            if (seen >= r99) p99 = value;
        }
        return (p50, p95, p99);

        long Rank(double q) => Math.Max(1, (long)Math.Ceiling(q * total));
    }
}
