using QuDag.Network;

namespace QuDag.PowerShell;

/// <summary>A session's keepalive, reconnect and circuit breaker settings, kept across Set-QuDagSession.</summary>
internal sealed record ResilienceSettings
{
    private static readonly ConnectionManagerOptions Defaults = new();

    public TimeSpan KeepAliveInterval { get; init; } = Defaults.KeepAliveInterval;

    public TimeSpan KeepAliveTimeout { get; init; } = Defaults.KeepAliveTimeout;

    public bool AutoReconnect { get; init; } = Defaults.AutoReconnect;

    public int CircuitBreakerThreshold { get; init; } = Defaults.CircuitBreakerFailureThreshold;

    public TimeSpan CircuitBreakerDuration { get; init; } = Defaults.CircuitBreakerBreakDuration;

    /// <summary>Options carrying these settings; the caller adds the rest (limit, pool, identity, gater).</summary>
    public ConnectionManagerOptions ToOptions() => new()
    {
        KeepAliveInterval = KeepAliveInterval,
        KeepAliveTimeout = KeepAliveTimeout,
        AutoReconnect = AutoReconnect,
        CircuitBreakerFailureThreshold = CircuitBreakerThreshold,
        CircuitBreakerBreakDuration = CircuitBreakerDuration,
    };
}
