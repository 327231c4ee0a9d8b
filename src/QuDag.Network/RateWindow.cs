namespace QuDag.Network;

/// <summary>
/// Events per second over a sliding window of one-second buckets, lock-free. A bucket is reset by the first
/// event of a new second that lands on it; readers only sum buckets whose second lies inside the window.
/// </summary>
internal sealed class RateWindow(TimeProvider time, int seconds = 10)
{
    private readonly long[] _second = new long[seconds];
    private readonly long[] _count = new long[seconds];
    private readonly long _start = time.GetTimestamp();

    public TimeSpan Window { get; } = TimeSpan.FromSeconds(seconds);

    private long NowSecond => time.GetElapsedTime(_start).Ticks / TimeSpan.TicksPerSecond;

    public void Add(long events = 1)
    {
        var now = NowSecond;
        var i = (int)(now % _second.Length);
        var stamp = Volatile.Read(ref _second[i]);
        if (stamp != now && Interlocked.CompareExchange(ref _second[i], now, stamp) == stamp)
            Interlocked.Exchange(ref _count[i], 0);
        Interlocked.Add(ref _count[i], events);
    }

    public double PerSecond()
    {
        var elapsed = time.GetElapsedTime(_start);
        var now = elapsed.Ticks / TimeSpan.TicksPerSecond;
        long sum = 0;
        for (var i = 0; i < _second.Length; i++)
        {
            var stamp = Volatile.Read(ref _second[i]);
            if (stamp > now - _second.Length && stamp <= now)
                sum += Volatile.Read(ref _count[i]);
        }
        // Until a whole window has passed, divide by the time there has been.
        var span = Math.Min(elapsed.TotalSeconds, _second.Length);
        return span <= 0 ? 0 : sum / Math.Max(span, 1.0);
    }
}
