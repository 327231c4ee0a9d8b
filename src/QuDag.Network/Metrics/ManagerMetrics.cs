using System.Diagnostics;
using System.Diagnostics.Metrics;
using QuDag.P2p.Resources;

namespace QuDag.Network;

/// <summary>
/// The manager's counters (plain interlocked fields, no locks) and their publication through a
/// <see cref="Meter"/> named <c>QuDag.Network</c>, so dotnet-counters and OpenTelemetry read them directly.
/// Observable instruments read the same fields, so the hot paths pay nothing for the meter. Names, units and
/// attributes follow the OpenTelemetry semantic conventions where one exists (<c>network.io.direction</c>,
/// <c>error.type</c>, durations in seconds), so exporters map them to Prometheus names without surprises. Gauges of
/// things are plural nouns (<c>qudag.connections</c>, not <c>qudag.connection.count</c>): Prometheus reserves the
/// <c>_count</c> suffix for histograms and summaries, and <c>promtool check metrics</c> rejects it elsewhere.
/// </summary>
internal sealed class ManagerMetrics : IDisposable
{
    public const string MeterName = "QuDag.Network";

    /// <summary>The meter tag with the node's full peer id: what tells two managers' meters apart in one process.</summary>
    public const string PeerIdTag = "qudag.peer.id";

    // Estimates behind NetworkMetrics.MemoryUsage, measured on the reference machine (docs/PROTOCOL.md): a peer's
    // entry with its gate and reconnect state (heap dump), an idle connection end over TCP + Noise + yamux at
    // 10,000 connections (8.4-8.9 KiB managed, tests/QuDag.Benchmarks/RESULTS.md, run D).
    internal const int BytesPerPeer = 280;
    internal const int BytesPerConnection = 9 * 1024;

    // Bucket bounds for round trips and handshakes, in seconds: loopback pings take tens of microseconds and WAN
    // handshakes hundreds of milliseconds, so OpenTelemetry's default bounds (made for milliseconds) would put
    // every sample in the first bucket.
    private static readonly double[] s_durationBounds =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    // Written only through the Record* methods below; read by Snapshot and the meter's observable instruments.
    private long _messagesSent, _messagesReceived, _bytesSent, _bytesReceived;
    private long _poolHits, _poolMisses, _poolExpirations, _failedConnects, _failedInbound;
    private long _queuedBytes;
    private long _keepAliveFailures, _reconnects, _reconnectAttempts, _circuitRejections, _deniedInbound, _deniedOutbound;
    private int _openCircuits;

    // Failures by reason, beside the totals above: RecordFailure adds to both, so they always sum to the totals.
    private readonly long[] _outboundFailures = new long[ConnectFailures.Count];
    private readonly long[] _inboundFailures = new long[ConnectFailures.Count];

    // Closes by reason (every connection's end, counted once) and reservations the resource scopes refused, by scope kind.
    private readonly long[] _closes = new long[CloseReasons.Count];
    private readonly long[] _blocked = new long[s_scopeKinds.Length];
    private static readonly ResourceScopeKind[] s_scopeKinds = Enum.GetValues<ResourceScopeKind>();

    public readonly RateWindow Messages;
    public readonly LatencyHistogram Ping = new();
    public readonly LatencyHistogram Handshake = new();
    private readonly Meter _meter;
    // Ping and handshake durations: published, and kept per bucket for a listener that attaches later.
    private readonly Lock _histograms = new();
    private readonly ReplayableHistogram _pingDuration;
    private readonly ReplayableHistogram _handshakeDuration;

    public ManagerMetrics(TimeProvider time, PeerId localPeer, Func<(int Active, int Idle, int Max, int Peers)> counts)
    {
        Messages = new RateWindow(time, () => Volatile.Read(ref _messagesSent) + Volatile.Read(ref _messagesReceived));
        _meter = new Meter(new MeterOptions(MeterName)
        {
            Version = typeof(ManagerMetrics).Assembly.GetName().Version?.ToString(3),
            Tags = [new("qudag.node", localPeer.ToShortString()), new(PeerIdTag, localPeer.ToString())],
        });
        _meter.CreateObservableUpDownCounter("qudag.connections", () =>
        {
            var c = counts();
            return new[] { new Measurement<int>(c.Active, new KeyValuePair<string, object?>("state", "active")),
                           new Measurement<int>(c.Idle, new KeyValuePair<string, object?>("state", "idle")) };
        }, "{connection}", "Open connections by state.");
        _meter.CreateObservableUpDownCounter("qudag.connection.max", () => counts().Max, "{connection}", "The limit on open connections.");
        _meter.CreateObservableUpDownCounter("qudag.peers", () => counts().Peers, "{peer}", "Tracked peers.");
        _meter.CreateObservableCounter("qudag.messages", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref _messagesSent), new KeyValuePair<string, object?>("network.io.direction", "transmit")),
            new Measurement<long>(Volatile.Read(ref _messagesReceived), new KeyValuePair<string, object?>("network.io.direction", "receive")),
        }, "{message}", "DATA messages.");
        _meter.CreateObservableCounter("qudag.network.io", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref _bytesSent), new KeyValuePair<string, object?>("network.io.direction", "transmit")),
            new Measurement<long>(Volatile.Read(ref _bytesReceived), new KeyValuePair<string, object?>("network.io.direction", "receive")),
        }, "By", "DATA payload bytes.");
        _meter.CreateObservableCounter("qudag.pool.requests", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref _poolHits), new KeyValuePair<string, object?>("result", "hit")),
            new Measurement<long>(Volatile.Read(ref _poolMisses), new KeyValuePair<string, object?>("result", "miss")),
        }, "{request}", "Connects served from the idle pool (hit) or dialed (miss).");
        _meter.CreateObservableCounter("qudag.pool.expirations", () => Volatile.Read(ref _poolExpirations), "{connection}",
            "Idle connections closed by the pool timeout.");
        _meter.CreateObservableCounter("qudag.connection.failures", ObserveFailures, "{connection}",
            "Connections that failed before they were established, by direction and error.type.");
        _meter.CreateObservableCounter("qudag.connection.denied", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref _deniedOutbound), new KeyValuePair<string, object?>("direction", "outbound")),
            new Measurement<long>(Volatile.Read(ref _deniedInbound), new KeyValuePair<string, object?>("direction", "inbound")),
        }, "{connection}", "Connections refused by the connection gater.");
        _meter.CreateObservableCounter("qudag.keepalive.failures", () => Volatile.Read(ref _keepAliveFailures), "{connection}",
            "Connections failed because a keepalive PING went unanswered.");
        _meter.CreateObservableCounter("qudag.reconnect.attempts", () => Volatile.Read(ref _reconnectAttempts), "{attempt}",
            "Automatic reconnect dials.");
        _meter.CreateObservableUpDownCounter("qudag.circuit.open", () => Volatile.Read(ref _openCircuits), "{peer}",
            "Peers whose circuit breaker is open or half-open.");
        _meter.CreateObservableCounter("qudag.circuit.rejections", () => Volatile.Read(ref _circuitRejections), "{connect}",
            "Connects failed fast by an open circuit breaker.");
        _meter.CreateObservableCounter("qudag.connection.closes", ObserveCloses, "{connection}",
            "Connections that ended, by reason (trimmed, limit, idle_expired, keepalive_failed, remote_closed, ...).");
        _meter.CreateObservableCounter("qudag.resource.blocked", ObserveBlocked, "{reservation}",
            "Reservations the resource scopes refused, by scope (system, transient, peer, protocol, connection, stream, subnet, process).");
        _meter.CreateObservableGauge("qudag.message.rate", () => Messages.PerSecond(), "{message}/s", "DATA messages per second over the rate window.");
        var advice = new InstrumentAdvice<double> { HistogramBucketBoundaries = s_durationBounds };
        _pingDuration = new(_meter.CreateHistogram("qudag.ping.duration", "s", "Ping round trips.", tags: null, advice),
            s_durationBounds, _histograms);
        _handshakeDuration = new(_meter.CreateHistogram("qudag.connection.handshake.duration", "s",
                "Time to establish a connection (dial or accept through the handshake), by direction.", tags: null, advice),
            s_durationBounds, _histograms, [new("direction", "outbound")], [new("direction", "inbound")]);
        Topics = new TopicMetrics(_meter);
    }

    /// <summary>Gossip's per-topic instruments on the same meter.</summary>
    public TopicMetrics Topics { get; }

    private IEnumerable<Measurement<long>> ObserveFailures()
    {
        var list = new List<Measurement<long>>(2 * ConnectFailures.Count);
        for (var i = 0; i < ConnectFailures.Count; i++)
        {
            // A reason never seen is left out, so a scrape lists what happened, not every possible cause.
            if (Volatile.Read(ref _outboundFailures[i]) is > 0 and var outbound)
                list.Add(new(outbound, new("direction", "outbound"), new("error.type", ConnectFailures.Name((ConnectFailureKind)i))));
            if (Volatile.Read(ref _inboundFailures[i]) is > 0 and var inbound)
                list.Add(new(inbound, new("direction", "inbound"), new("error.type", ConnectFailures.Name((ConnectFailureKind)i))));
        }
        return list;
    }

    private IEnumerable<Measurement<long>> ObserveCloses()
    {
        var list = new List<Measurement<long>>();
        for (var i = 0; i < _closes.Length; i++)
        {
            if (Volatile.Read(ref _closes[i]) is > 0 and var count)
                list.Add(new(count, new KeyValuePair<string, object?>("reason", CloseReasons.Name((CloseReason)i))));
        }
        return list;
    }

    private IEnumerable<Measurement<long>> ObserveBlocked()
    {
        var list = new List<Measurement<long>>();
        for (var i = 0; i < _blocked.Length; i++)
        {
            if (Volatile.Read(ref _blocked[i]) is > 0 and var count)
                list.Add(new(count, new KeyValuePair<string, object?>("scope", s_scopeKinds[i].ToString().ToLowerInvariant())));
        }
        return list;
    }

    /// <summary>Counts a connection's end under its reason.</summary>
    public void RecordClose(CloseReason reason) => Interlocked.Increment(ref _closes[(int)reason]);

    /// <summary>Counts a reservation a resource scope refused.</summary>
    public void RecordBlocked(ResourceScopeKind scope) => Interlocked.Increment(ref _blocked[Array.IndexOf(s_scopeKinds, scope)]);

    /// <summary>Counts a connection that failed before it was established, in its total and under its reason.</summary>
    public void RecordFailure(bool inbound, ConnectFailureKind reason)
    {
        if (inbound)
        {
            Interlocked.Increment(ref _inboundFailures[(int)reason]);
            Interlocked.Increment(ref _failedInbound);
        }
        else
        {
            Interlocked.Increment(ref _outboundFailures[(int)reason]);
            Interlocked.Increment(ref _failedConnects);
        }
    }

    public void RecordPing(TimeSpan roundTrip)
    {
        Ping.Record(roundTrip);
        _pingDuration.Record(roundTrip.TotalSeconds);
    }

    public void RecordHandshake(TimeSpan duration, bool inbound)
    {
        Handshake.Record(duration);
        _handshakeDuration.Record(duration.TotalSeconds, inbound ? 1 : 0);
    }

    /// <summary>
    /// Runs <paramref name="attach"/> (which starts a listener on the meter) while no histogram measurement is being
    /// recorded, then hands the new listener the histograms' earlier measurements. A histogram another listener already
    /// received is not replayed, so that listener counts nothing twice.
    /// </summary>
    public T AttachListener<T>(Func<T> attach)
    {
        lock (_histograms)
        {
            var pingListened = _pingDuration.IsListened;
            var handshakeListened = _handshakeDuration.IsListened;
            var attached = attach();
            if (!pingListened)
                _pingDuration.ReplayHeld();
            if (!handshakeListened)
                _handshakeDuration.ReplayHeld();
            return attached;
        }
    }

    public void RecordSent(int bytes)
    {
        Interlocked.Increment(ref _messagesSent);
        Interlocked.Add(ref _bytesSent, bytes);
    }

    public void RecordReceived(int bytes)
    {
        Interlocked.Increment(ref _messagesReceived);
        Interlocked.Add(ref _bytesReceived, bytes);
    }

    /// <summary>The counters now, with the manager's counts beside them. Reads counters only: O(1) in the peers.</summary>
    public NetworkMetrics Snapshot(int open, int active, int idle, int max, int peers)
    {
        var m = this;
        var (p50, p95, p99) = m.Ping.Percentiles();
        return new NetworkMetrics
        {
            MessagesPerSecond = m.Messages.PerSecond(),
            Connections = active,
            AvgLatency = m.Ping.Mean,
            MemoryUsage = (long)peers * BytesPerPeer + (long)open * BytesPerConnection
                + Volatile.Read(ref _queuedBytes),
            IdleConnections = idle,
            OpenConnections = open,
            MaxConnections = max,
            TrackedPeers = peers,
            PoolHits = Volatile.Read(ref _poolHits),
            PoolMisses = Volatile.Read(ref _poolMisses),
            PoolExpirations = Volatile.Read(ref _poolExpirations),
            MessagesSent = Volatile.Read(ref _messagesSent),
            MessagesReceived = Volatile.Read(ref _messagesReceived),
            BytesSent = Volatile.Read(ref _bytesSent),
            BytesReceived = Volatile.Read(ref _bytesReceived),
            FailedConnects = Volatile.Read(ref _failedConnects),
            FailedInbound = Volatile.Read(ref _failedInbound),
            PingCount = m.Ping.Count,
            LatencyP50 = p50,
            LatencyP95 = p95,
            LatencyP99 = p99,
            AvgHandshakeTime = m.Handshake.Mean,
            RateWindow = m.Messages.Window,
            KeepAliveFailures = Volatile.Read(ref _keepAliveFailures),
            Reconnects = Volatile.Read(ref _reconnects),
            ReconnectAttempts = Volatile.Read(ref _reconnectAttempts),
            OpenCircuits = Volatile.Read(ref _openCircuits),
            CircuitRejections = Volatile.Read(ref _circuitRejections),
            DeniedInbound = Volatile.Read(ref _deniedInbound),
            DeniedOutbound = Volatile.Read(ref _deniedOutbound),
            ClosesByReason = Enumerable.Range(0, _closes.Length).ToDictionary(i => (CloseReason)i, i => Volatile.Read(ref _closes[i])),
            BlockedByScope = Enumerable.Range(0, _blocked.Length).ToDictionary(i => s_scopeKinds[i], i => Volatile.Read(ref _blocked[i])),
        };
    }

    public void RecordPoolHit() => Interlocked.Increment(ref _poolHits);

    public void RecordPoolMiss() => Interlocked.Increment(ref _poolMisses);

    public void RecordPoolExpiration() => Interlocked.Increment(ref _poolExpirations);

    /// <summary>Bytes received and not yet taken by the application (positive on arrival, negative on dequeue).</summary>
    public void RecordQueued(int bytes) => Interlocked.Add(ref _queuedBytes, bytes);

    public void RecordKeepAliveFailure() => Interlocked.Increment(ref _keepAliveFailures);

    public void RecordReconnectAttempt() => Interlocked.Increment(ref _reconnectAttempts);

    public void RecordReconnect() => Interlocked.Increment(ref _reconnects);

    public void RecordCircuitRejection() => Interlocked.Increment(ref _circuitRejections);

    /// <summary>A peer's circuit left or entered the closed state: +1 when it opened, -1 when it closed again.</summary>
    public void RecordOpenCircuits(int delta) => Interlocked.Add(ref _openCircuits, delta);

    /// <summary>A connection the gater refused (not a failure of the peer; the failure counts are separate).</summary>
    public void RecordDenied(bool inbound)
    {
        if (inbound)
            Interlocked.Increment(ref _deniedInbound);
        else
            Interlocked.Increment(ref _deniedOutbound);
    }

    public void Dispose()
    {
        _meter.Dispose();
        Messages.Dispose();
    }
}
