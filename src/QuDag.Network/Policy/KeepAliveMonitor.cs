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
    private readonly TimeSpan _interval;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly Func<IEnumerable<IKeepAliveTarget>> _connections;
    private readonly Action _onFailed;
    private readonly ITimer? _timer;

    /// <summary>Starts the timer unless <paramref name="interval"/> (silence before a ping) is zero or less, which turns
    /// keepalive off. <paramref name="onFailed"/> is called for each connection a check failed (the manager counts them).</summary>
    public KeepAliveMonitor(TimeSpan interval, TimeSpan timeout, TimeProvider time, Func<IEnumerable<IKeepAliveTarget>> connections, Action onFailed)
    {
        _interval = interval;
        _timeout = timeout;
        _time = time;
        _connections = connections;
        _onFailed = onFailed;
        if (interval <= TimeSpan.Zero)
            return;
        Period = PeriodFor(interval, timeout);
        _timer = time.CreateTimer(static state => ((KeepAliveMonitor)state!).Check(), this, Period, Period);
    }

    /// <summary>The check period (a quarter of the shorter setting, 50 ms..5 s; zero when off): a dead peer is failed
    /// within interval + timeout + two periods.</summary>
    public TimeSpan Period { get; }

    public static TimeSpan PeriodFor(TimeSpan interval, TimeSpan timeout)
    {
        var shortest = interval < timeout ? interval : timeout;
        return TimeSpan.FromTicks(Math.Clamp(shortest.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(5).Ticks));
    }

    /// <summary>One pass over the connections (the timer's callback).</summary>
    public void Check()
    {
        var now = _time.GetTimestamp();
        foreach (var connection in _connections())
        {
            if (connection.CheckKeepAlive(now, _interval, _timeout))
                _onFailed();
        }
    }

    public ValueTask DisposeAsync() => _timer?.DisposeAsync() ?? default;
}
