using QuDag.Network;

namespace QuDag.PowerShell;

/// <summary>A session's settings, in the units the cmdlets take; kept across Set-QuDagSession.</summary>
internal sealed record SessionConfig
{
    private static readonly ConnectionManagerOptions Defaults = new();

    public int MaxConnections { get; init; } = Defaults.MaxConnections;

    public TimeSpan PoolTimeout { get; init; } = Defaults.PoolTimeout;

    public TimeSpan ConnectTimeout { get; init; } = Defaults.ConnectTimeout;

    public TimeSpan KeepAliveInterval { get; init; } = Defaults.KeepAliveInterval;

    public TimeSpan KeepAliveTimeout { get; init; } = Defaults.KeepAliveTimeout;

    public bool AutoReconnect { get; init; } = Defaults.AutoReconnect;

    public int CircuitBreakerThreshold { get; init; } = Defaults.CircuitBreakerFailureThreshold;

    public TimeSpan CircuitBreakerDuration { get; init; } = Defaults.CircuitBreakerBreakDuration;

    public TimeSpan RequestTimeout { get; init; } = Defaults.RequestTimeout;

    /// <summary>Options carrying these settings; the caller adds identity and gater.</summary>
    public ConnectionManagerOptions ToOptions() => new()
    {
        MaxConnections = MaxConnections,
        PoolTimeout = PoolTimeout,
        ConnectTimeout = ConnectTimeout,
        KeepAliveInterval = KeepAliveInterval,
        KeepAliveTimeout = KeepAliveTimeout,
        AutoReconnect = AutoReconnect,
        CircuitBreakerFailureThreshold = CircuitBreakerThreshold,
        CircuitBreakerBreakDuration = CircuitBreakerDuration,
        RequestTimeout = RequestTimeout,
    };

    /// <summary>Writes these settings into a running manager (every one of them may change while it runs).</summary>
    public void ApplyTo(ConnectionManager manager) => manager.Reconfigure(live =>
    {
        live.MaxConnections = MaxConnections;
        live.PoolTimeout = PoolTimeout;
        live.ConnectTimeout = ConnectTimeout;
        live.KeepAliveInterval = KeepAliveInterval;
        live.KeepAliveTimeout = KeepAliveTimeout;
        live.AutoReconnect = AutoReconnect;
        live.CircuitBreakerFailureThreshold = CircuitBreakerThreshold;
        live.CircuitBreakerBreakDuration = CircuitBreakerDuration;
        live.RequestTimeout = RequestTimeout;
    });
}
