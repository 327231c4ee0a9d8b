using QuDag.Network;

namespace QuDag.PowerShell;

/// <summary>
/// One refresh of Watch-QuDagMetrics: the session's totals and its peers at that moment. Written once per interval
/// when the output goes down a pipe, so it pipes to Export-Csv, ConvertTo-Json or Where-Object.
/// </summary>
public sealed class QuDagMetricsSample
{
    /// <summary>1 for the first refresh.</summary>
    public int Sequence { get; init; }

    /// <summary>When it was taken.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>The session's name.</summary>
    public string Session { get; init; } = "";

    /// <summary>The node's peer id.</summary>
    public string PeerId { get; init; } = "";

    /// <summary>Active connections.</summary>
    public int Connections { get; init; }

    /// <summary>Live connections idle in the pool.</summary>
    public int IdleConnections { get; init; }

    /// <summary>Open sockets (active, idle and handshaking).</summary>
    public int OpenConnections { get; init; }

    /// <summary>The limit on open sockets.</summary>
    public int MaxConnections { get; init; }

    /// <summary>Peers the session tracks.</summary>
    public int TrackedPeers { get; init; }

    /// <summary>Peers connected now.</summary>
    public int ConnectedPeers { get; init; }

    /// <summary>Peers whose last connect or connection failed.</summary>
    public int FailedPeers { get; init; }

    /// <summary>DATA messages per second over the rate window.</summary>
    public double MessagesPerSecond { get; init; }

    /// <summary>DATA messages sent.</summary>
    public long MessagesSent { get; init; }

    /// <summary>DATA messages received.</summary>
    public long MessagesReceived { get; init; }

    /// <summary>Ping round trips measured.</summary>
    public long PingCount { get; init; }

    /// <summary>Median ping round trip in milliseconds.</summary>
    public double LatencyP50Ms { get; init; }

    /// <summary>95th percentile ping round trip in milliseconds.</summary>
    public double LatencyP95Ms { get; init; }

    /// <summary>Connects served from the idle pool.</summary>
    public long PoolHits { get; init; }

    /// <summary>Connects that dialed.</summary>
    public long PoolMisses { get; init; }

    /// <summary>Outbound connects that failed.</summary>
    public long FailedConnects { get; init; }

    /// <summary>Inbound connections that failed before they were established.</summary>
    public long FailedInbound { get; init; }

    /// <summary>The peers, by peer id.</summary>
    public QuDagWatchPeer[] Peers { get; init; } = [];

    internal static QuDagMetricsSample Take(QuDagSession session, int sequence)
    {
        var manager = session.Manager;
        var m = manager.GetMetrics();
        var peers = manager.GetPeers();
        return new QuDagMetricsSample
        {
            Sequence = sequence,
            Timestamp = DateTimeOffset.Now,
            Session = session.Name,
            PeerId = session.PeerId.ToString(),
            Connections = m.Connections,
            IdleConnections = m.IdleConnections,
            OpenConnections = m.OpenConnections,
            MaxConnections = m.MaxConnections,
            TrackedPeers = m.TrackedPeers,
            ConnectedPeers = peers.Count(p => p.Status == ConnectionStatus.Connected),
            FailedPeers = peers.Count(p => p.Status == ConnectionStatus.Failed),
            MessagesPerSecond = Math.Round(m.MessagesPerSecond, 2),
            MessagesSent = m.MessagesSent,
            MessagesReceived = m.MessagesReceived,
            PingCount = m.PingCount,
            LatencyP50Ms = m.LatencyP50.TotalMilliseconds,
            LatencyP95Ms = m.LatencyP95.TotalMilliseconds,
            PoolHits = m.PoolHits,
            PoolMisses = m.PoolMisses,
            FailedConnects = m.FailedConnects,
            FailedInbound = m.FailedInbound,
            Peers = peers.Select(p => new QuDagWatchPeer(p.PeerId.ToString(), p.Status?.ToString() ?? "", p.Endpoint?.ToString(),
                p.Latency?.TotalMilliseconds, p.Pooled)).ToArray(),
        };
    }
}

/// <summary>A peer in a <see cref="QuDagMetricsSample"/>.</summary>
/// <param name="PeerId">The peer id.</param>
/// <param name="Status">Its status name (empty when only its address is known).</param>
/// <param name="Endpoint">Its endpoint.</param>
/// <param name="LatencyMs">Its last ping round trip in milliseconds.</param>
/// <param name="Pooled">True when its connection waits in the idle pool.</param>
public sealed record QuDagWatchPeer(string PeerId, string Status, string? Endpoint, double? LatencyMs, bool Pooled);
