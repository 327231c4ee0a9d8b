namespace QuDag.Network;

/// <summary>
/// The rate of a running total over a sliding window. The total is the caller's own counter, so counting an
/// event costs nothing here and reads no clock (a clock read costs more than the rest of a message's
/// bookkeeping on this machine); a timer on the manager's TimeProvider samples the total once a second, and
/// the rate is its growth since the oldest sample in the window.
/// </summary>
internal sealed class RateWindow : IDisposable
{
    private readonly TimeProvider _time;
    private readonly long[] _stamps;
    private readonly long[] _totals;
    private readonly ITimer _sampler;
    private readonly Func<long> _total;
    private int _samples;

    public RateWindow(TimeProvider time, Func<long> total, int seconds = 10)
    {
        _time = time;
        _total = total;
        _stamps = new long[seconds + 1];
        _totals = new long[seconds + 1];
        _stamps[0] = time.GetTimestamp();
        _totals[0] = total();
        _samples = 1;
        Window = TimeSpan.FromSeconds(seconds);
        _sampler = time.CreateTimer(static state => ((RateWindow)state!).Sample(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public TimeSpan Window { get; }

    private void Sample()
    {
        lock (_stamps)
        {
            var i = _samples++ % _stamps.Length;
            _stamps[i] = _time.GetTimestamp();
            _totals[i] = _total();
        }
    }

    public double PerSecond()
    {
        long stamp, total;
        lock (_stamps)
        {
            // The oldest sample still kept: the slot after the newest once the ring is full, else the first.
            var oldest = _samples < _stamps.Length ? 0 : _samples % _stamps.Length;
            stamp = _stamps[oldest];
            total = _totals[oldest];
        }
        var elapsed = _time.GetElapsedTime(stamp).TotalSeconds;
        // Until a second has passed, divide by one second rather than by a sliver of one.
        return (_total() - total) / Math.Max(elapsed, 1.0);
    }

    public void Dispose() => _sampler.Dispose();
}
