using QuDag.Network;
using QuDag.P2p.Protocols.Kad;

namespace QuDag.PowerShell;

/// <summary>A session's settings, in the units the cmdlets take; kept across Set-QuDagSession.</summary>
internal sealed record SessionConfig
{
    private static readonly ConnectionManagerOptions Defaults = new();

    public int MaxConnections { get; init; } = Defaults.MaxConnections;

    public TimeSpan PoolTimeout { get; init; } = Defaults.PoolTimeout;

    public TimeSpan ConnectTimeout { get; init; } = Defaults.HandshakeTimeout;

    public TimeSpan KeepAliveInterval { get; init; } = Defaults.KeepAliveInterval;

    public TimeSpan KeepAliveTimeout { get; init; } = Defaults.KeepAliveTimeout;

    public bool AutoReconnect { get; init; } = Defaults.AutoReconnect;

    public int CircuitBreakerThreshold { get; init; } = Defaults.CircuitBreakerFailureThreshold;

    public TimeSpan CircuitBreakerDuration { get; init; } = Defaults.CircuitBreakerBreakDuration;

    public TimeSpan RequestTimeout { get; init; } = Defaults.RequestTimeout;

    // ---- the DHT (Kademlia) ----

    public KadMode DhtMode { get; init; } = Defaults.DhtMode;

    public string DhtProtocol { get; init; } = Defaults.DhtProtocolId;

    public IReadOnlyList<Multiaddr> Bootstrap { get; init; } = Defaults.DhtBootstrap;

    /// <summary>Options carrying these settings; the caller adds identity and gater.</summary>
    public ConnectionManagerOptions ToOptions() => new()
    {
        MaxConnections = MaxConnections,
        PoolTimeout = PoolTimeout,
        HandshakeTimeout = ConnectTimeout,
        KeepAliveInterval = KeepAliveInterval,
        KeepAliveTimeout = KeepAliveTimeout,
        AutoReconnect = AutoReconnect,
        CircuitBreakerFailureThreshold = CircuitBreakerThreshold,
        CircuitBreakerBreakDuration = CircuitBreakerDuration,
        RequestTimeout = RequestTimeout,
        DhtMode = DhtMode,
        DhtProtocolId = DhtProtocol,
        DhtBootstrap = Bootstrap,
    };

    /// <summary>
    /// Whether a running manager can take <paramref name="next"/> in place. The core reads the limit, handshake
    /// timeout, keepalive interval/timeout, reconnect, breaker and request-timeout settings from its options on
    /// every use; the pool timeout is fixed in its idle pool, and the keepalive timer exists only when keepalive
    /// was on at start.
    /// </summary>
    public bool CanApplyInPlace(SessionConfig next) =>
        next.PoolTimeout == PoolTimeout
        && (next.KeepAliveInterval > TimeSpan.Zero) == (KeepAliveInterval > TimeSpan.Zero)
        // The DHT is built with the manager (its handler, table and timers): a change of it restarts the node.
        && next.DhtMode == DhtMode && next.DhtProtocol == DhtProtocol && next.Bootstrap.SequenceEqual(Bootstrap);

    /// <summary>Writes these settings into a running manager's options (see <see cref="CanApplyInPlace"/>).</summary>
    public void ApplyTo(ConnectionManagerOptions live)
    {
        live.MaxConnections = MaxConnections;
        live.HandshakeTimeout = ConnectTimeout;
        live.KeepAliveInterval = KeepAliveInterval;
        live.KeepAliveTimeout = KeepAliveTimeout;
        live.AutoReconnect = AutoReconnect;
        live.CircuitBreakerFailureThreshold = CircuitBreakerThreshold;
        live.CircuitBreakerBreakDuration = CircuitBreakerDuration;
        live.RequestTimeout = RequestTimeout;
    }
}
