namespace QuDag.Network;

/// <summary>
/// A snapshot of a manager's metrics, measured from real frames and ping round trips. The first four are the
/// seed's <c>NetworkMetrics</c>; the rest say how the pool, the limit and the traffic behave.
/// </summary>
public sealed record NetworkMetrics
{
    /// <summary>DATA messages sent and received per second, over the last <see cref="RateWindow"/>.</summary>
    public double MessagesPerSecond { get; init; }

    /// <summary>Active connections (in use, not idle in the pool).</summary>
    public int Connections { get; init; }

    /// <summary>Mean ping round trip; zero before the first ping.</summary>
    public TimeSpan AvgLatency { get; init; }

    /// <summary>
    /// Estimated bytes the manager holds: a fixed cost per tracked peer and per open connection (measured for
    /// <c>SslStream</c> and the pipes, see docs/PROTOCOL.md "Memory") plus the payloads waiting to be received.
    /// </summary>
    public long MemoryUsage { get; init; }

    /// <summary>Live connections idle in the pool.</summary>
    public int IdleConnections { get; init; }

    /// <summary>Open sockets: active, idle and handshaking, both directions. Never above <see cref="MaxConnections"/>.</summary>
    public int OpenConnections { get; init; }

    /// <summary>The limit on open sockets.</summary>
    public int MaxConnections { get; init; }

    /// <summary>Peers the manager tracks (any status).</summary>
    public int TrackedPeers { get; init; }

    /// <summary>Connects served from the idle pool.</summary>
    public long PoolHits { get; init; }

    /// <summary>Connects that had to dial.</summary>
    public long PoolMisses { get; init; }

    /// <summary>Pooled connections closed because they idled past the pool timeout.</summary>
    public long PoolExpirations { get; init; }

    /// <summary>DATA messages sent.</summary>
    public long MessagesSent { get; init; }

    /// <summary>DATA messages received and queued for <see cref="ConnectionManager.ReceiveAsync"/>.</summary>
    public long MessagesReceived { get; init; }

    /// <summary>DATA messages sent and received.</summary>
    public long TotalMessages => MessagesSent + MessagesReceived;

    /// <summary>Payload bytes sent.</summary>
    public long BytesSent { get; init; }

    /// <summary>Payload bytes received.</summary>
    public long BytesReceived { get; init; }

    /// <summary>Outbound connects that failed (refused, timeout, authentication, identity, protocol, limit).</summary>
    public long FailedConnects { get; init; }

    /// <summary>Inbound connections refused or failed before they were established.</summary>
    public long FailedInbound { get; init; }

    /// <summary>Ping round trips measured.</summary>
    public long PingCount { get; init; }

    /// <summary>Median ping round trip (log buckets, within 5%).</summary>
    public TimeSpan LatencyP50 { get; init; }

    /// <summary>95th percentile ping round trip.</summary>
    public TimeSpan LatencyP95 { get; init; }

    /// <summary>99th percentile ping round trip.</summary>
    public TimeSpan LatencyP99 { get; init; }

    /// <summary>Mean time to establish a connection (TCP + TLS + HELLO), both directions.</summary>
    public TimeSpan AvgHandshakeTime { get; init; }

    /// <summary>The window <see cref="MessagesPerSecond"/> is measured over.</summary>
    public TimeSpan RateWindow { get; init; }

    /// <summary>Connections failed because a keepalive PING went unanswered for <see cref="ConnectionManagerOptions.KeepAliveTimeout"/>.</summary>
    public long KeepAliveFailures { get; init; }

    /// <summary>Lost connections that automatic reconnect brought back.</summary>
    public long Reconnects { get; init; }

    /// <summary>Dials made by automatic reconnect, successful or not.</summary>
    public long ReconnectAttempts { get; init; }

    /// <summary>Peers whose circuit breaker is open or half-open right now.</summary>
    public int OpenCircuits { get; init; }

    /// <summary>Connects failed fast because the peer's circuit breaker was open.</summary>
    public long CircuitRejections { get; init; }

    /// <summary>Inbound peers the connection gater refused right after the security handshake proved their id (also counted in <see cref="FailedInbound"/>).</summary>
    public long DeniedInbound { get; init; }

    /// <summary>Outbound connects the connection gater refused (also counted in <see cref="FailedConnects"/>).</summary>
    public long DeniedOutbound { get; init; }

    /// <summary>Connections that ended, by reason: every reason, zero when none ended so.</summary>
    public IReadOnlyDictionary<CloseReason, long> ClosesByReason { get; init; } = new Dictionary<CloseReason, long>();

    /// <summary>Reservations the resource scopes refused, by the kind of scope that refused.</summary>
    public IReadOnlyDictionary<QuDag.P2p.Resources.ResourceScopeKind, long> BlockedByScope { get; init; } =
        new Dictionary<QuDag.P2p.Resources.ResourceScopeKind, long>();
}
