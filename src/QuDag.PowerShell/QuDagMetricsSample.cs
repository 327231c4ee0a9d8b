using System.Collections.ObjectModel;
using System.Globalization;
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

    /// <summary>
    /// The peers, by peer id: objects in JSON and CliXml; in a CSV cell, one "&lt;peer id&gt; &lt;status&gt; &lt;latency&gt;ms"
    /// per peer, separated by "; ".
    /// </summary>
    public QuDagWatchPeers Peers { get; init; } = new([]);

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
            Peers = new(peers.Select(p => new QuDagWatchPeer(p.PeerId.ToString(), p.PeerId.ToShortString(), p.Status?.ToString() ?? "",
                AddressArgument.Format(p.Endpoint), p.Latency is { } rtt ? Math.Round(rtt.TotalMilliseconds, 3) : null, p.Pooled)).ToArray()),
        };
    }
}

/// <summary>A peer in a <see cref="QuDagMetricsSample"/>.</summary>
/// <param name="PeerId">The peer id.</param>
/// <param name="ShortId">The peer id as tables show it (go-libp2p's short form, 12*Wn8fj).</param>
/// <param name="Status">Its status name (empty when only its address is known).</param>
/// <param name="Endpoint">Its endpoint.</param>
/// <param name="LatencyMs">Its last ping round trip in milliseconds.</param>
/// <param name="Pooled">True when its connection waits in the idle pool.</param>
public sealed record QuDagWatchPeer(string PeerId, string ShortId, string Status, string? Endpoint, double? LatencyMs, bool Pooled)
{
    /// <summary>"12D3KooW... Connected 0.213ms": what a CSV cell and Format-List show of it.</summary>
    public override string ToString() =>
        string.Join(' ', new[] { PeerId, Status.Length > 0 ? Status : "Known", LatencyMs is { } ms ? ms.ToString("0.###", CultureInfo.InvariantCulture) + "ms" : null }
            .OfType<string>());
}

/// <summary>
/// The peers of a <see cref="QuDagMetricsSample"/>: a list of <see cref="QuDagWatchPeer"/> for pipes, JSON and CliXml, whose
/// text (what Export-Csv writes in a cell) lists each peer, where an array would write its type name.
/// </summary>
public sealed class QuDagWatchPeers(IList<QuDagWatchPeer> peers) : ReadOnlyCollection<QuDagWatchPeer>(peers)
{
    /// <inheritdoc/>
    public override string ToString() => string.Join("; ", this);
}
