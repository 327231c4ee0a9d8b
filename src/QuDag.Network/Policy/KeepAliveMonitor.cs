namespace QuDag.Network;

/// <summary>A connection the keepalive watches: it pings after silence and fails when its ping goes unanswered.</summary>
internal interface IKeepAliveTarget
{
    /// <returns>True when this check failed the connection.</returns>
    bool CheckKeepAlive(long now, TimeSpan interval, TimeSpan timeout);
}

/// <summary>
/// One timer for all connections, not one per connection: every <see cref="Period"/> it pings those that were silent
/// for the keepalive interval and fails those whose ping went unanswered for the keepalive timeout. It gets the
/// connections through a delegate, pooled ones included, so a peer that died while idle leaves the pool.
/// </summary>
internal sealed class KeepAliveMonitor : IAsyncDisposable
{
    private readonly TimeProvider _time;
    private readonly Func<IEnumerable<IKeepAliveTarget>> _connections;
    private readonly Action _onFailed;
    private readonly Lock _lock = new();
    private Settings _settings; // replaced whole, so a check never sees an interval of one setting and a timeout of another
    private ITimer? _timer;     // null while keepalive is off
    private bool _disposed;

    private sealed record Settings(TimeSpan Interval, TimeSpan Timeout, TimeSpan Period);

    /// <summary>Starts the timer unless <paramref name="interval"/> (silence before a ping) is zero or less, which turns
    /// keepalive off. <paramref name="onFailed"/> is called for each connection a check failed (the manager counts them).</summary>
    public KeepAliveMonitor(TimeSpan interval, TimeSpan timeout, TimeProvider time, Func<IEnumerable<IKeepAliveTarget>> connections, Action onFailed)
    {
        _time = time;
        _connections = connections;
        _onFailed = onFailed;
        _settings = new Settings(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
        Change(interval, timeout);
    }

    /// <summary>The check period (a quarter of the shorter setting, 50 ms..5 s; zero when off): a dead peer is failed
    /// within interval + timeout + two periods.</summary>
    public TimeSpan Period => Volatile.Read(ref _settings).Period;

    public static TimeSpan PeriodFor(TimeSpan interval, TimeSpan timeout)
    {
        var shortest = interval < timeout ? interval : timeout;
        return TimeSpan.FromTicks(Math.Clamp(shortest.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(5).Ticks));
    }

    /// <summary>
    /// Takes new settings on a running manager: the next check uses them, the timer moves to the new period, and an
    /// interval of zero stops it (a positive one starts it again).
    /// </summary>
    public void Change(TimeSpan interval, TimeSpan timeout)
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            if (interval <= TimeSpan.Zero)
            {
                Volatile.Write(ref _settings, new Settings(TimeSpan.Zero, timeout, TimeSpan.Zero));
                _timer?.Dispose();
                _timer = null;
                return;
            }
            var period = PeriodFor(interval, timeout);
            Volatile.Write(ref _settings, new Settings(interval, timeout, period));
            if (_timer is null)
                _timer = _time.CreateTimer(static state => ((KeepAliveMonitor)state!).Check(), this, period, period);
            else
                _timer.Change(period, period);
        }
    }

    /// <summary>One pass over the connections (the timer's callback).</summary>
    public void Check()
    {
        var settings = Volatile.Read(ref _settings);
        if (settings.Interval <= TimeSpan.Zero)
            return;
        var now = _time.GetTimestamp();
        foreach (var connection in _connections())
        {
            if (connection.CheckKeepAlive(now, settings.Interval, settings.Timeout))
                _onFailed();
        }
    }

    public ValueTask DisposeAsync()
    {
        ITimer? timer;
        lock (_lock)
        {
            _disposed = true;
            timer = _timer;
            _timer = null;
        }
        return timer?.DisposeAsync() ?? default;
    }
}
