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

    /// <summary>The value at quantile <paramref name="q"/> (0..1): the geometric middle of its bucket.</summary>
    public TimeSpan Quantile(double q)
    {
        long total = 0;
        for (var i = 0; i < _buckets.Length; i++)
            total += Volatile.Read(ref _buckets[i]);
        if (total == 0)
            return TimeSpan.Zero;
        var rank = (long)Math.Ceiling(q * total);
        long seen = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            seen += Volatile.Read(ref _buckets[i]);
            if (seen >= rank && seen > 0)
                return TimeSpan.FromTicks((long)(Math.Pow(Growth, i + 0.5) * TimeSpan.TicksPerMicrosecond));
        }
        return TimeSpan.FromTicks((long)(Math.Pow(Growth, _buckets.Length) * TimeSpan.TicksPerMicrosecond));
    }
}
