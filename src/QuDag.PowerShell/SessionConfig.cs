using QuDag.Network;
using QuDag.P2p.Protocols.Kad;

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

    // ---- connection policy: watermarks and grace (trims) ----

    public int LowWater { get; init; } = Defaults.LowWater;

    public int HighWater { get; init; } = Defaults.HighWater;

    public TimeSpan GracePeriod { get; init; } = Defaults.GracePeriod;

    // ---- the DHT (Kademlia) ----

    public KadMode DhtMode { get; init; } = Defaults.DhtMode;

    public string DhtProtocol { get; init; } = Defaults.DhtProtocolId;

    public IReadOnlyList<Multiaddr> Bootstrap { get; init; } = Defaults.DhtBootstrap;

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
        DhtMode = DhtMode,
        DhtProtocolId = DhtProtocol,
        DhtBootstrap = Bootstrap,
        LowWater = LowWater,
        HighWater = HighWater,
        GracePeriod = GracePeriod,
    };

    /// <summary>
    /// Whether <paramref name="next"/> needs a new node: the DHT is built with the manager (its stream handler, routing
    /// table and timers), so a change of its mode, protocol or bootstrap list restarts it; every other setting applies
    /// to the running node (<see cref="ApplyTo"/>).
    /// </summary>
    public bool NeedsRestart(SessionConfig next) =>
        next.DhtMode != DhtMode || next.DhtProtocol != DhtProtocol || !next.Bootstrap.SequenceEqual(Bootstrap);

    /// <summary>Writes these settings into a running manager (all but the DHT's, see <see cref="NeedsRestart"/>).</summary>
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
        live.LowWater = LowWater;
        live.HighWater = HighWater;
        live.GracePeriod = GracePeriod;
    });
}
