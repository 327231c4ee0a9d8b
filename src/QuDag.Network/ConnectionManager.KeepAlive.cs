namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>
    /// One timer for all connections, not one per connection: every check period it pings those that were silent
    /// for the keepalive interval and fails those whose ping went unanswered for the keepalive timeout. Pooled
    /// connections are checked too, so a peer that died while idle leaves the pool.
    /// </summary>
    private ITimer? StartKeepAlive()
    {
        if (_options.KeepAliveInterval <= TimeSpan.Zero)
            return null;
        var shortest = _options.KeepAliveInterval < _options.KeepAliveTimeout ? _options.KeepAliveInterval : _options.KeepAliveTimeout;
        KeepAlivePeriod = TimeSpan.FromTicks(Math.Clamp(shortest.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(5).Ticks));
        return _time.CreateTimer(static state => ((ConnectionManager)state!).CheckKeepAlive(), this, KeepAlivePeriod, KeepAlivePeriod);
    }

    /// <summary>The keepalive check period (a quarter of the shorter setting, 50 ms..5 s): a dead peer is failed
    /// within interval + timeout + two periods.</summary>
    public TimeSpan KeepAlivePeriod { get; private set; }

    private void CheckKeepAlive()
    {
        var now = _time.GetTimestamp();
        foreach (var connection in _connections.Keys)
        {
            if (connection.CheckKeepAlive(now, _options.KeepAliveInterval, _options.KeepAliveTimeout))
                Interlocked.Increment(ref _metrics.KeepAliveFailures);
        }
    }
}
