using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace QuDag.Network;

/// <summary>
/// The manager's counters (plain interlocked fields, no locks) and their publication through a
/// <see cref="Meter"/> named <c>QuDag.Network</c>, so dotnet-counters and OpenTelemetry read them directly.
/// Observable instruments read the same fields, so the hot paths pay nothing for the meter.
/// </summary>
internal sealed class ManagerMetrics : IDisposable
{
    public const string MeterName = "QuDag.Network";

    // Estimates behind NetworkMetrics.MemoryUsage, measured on the reference machine (docs/PROTOCOL.md).
    internal const int BytesPerPeer = 200;
    internal const int BytesPerConnection = 4 * 1024;

    public long MessagesSent, MessagesReceived, BytesSent, BytesReceived;
    public long PoolHits, PoolMisses, PoolExpirations, FailedConnects, FailedInbound;
    public long QueuedBytes;
    public long KeepAliveFailures, Reconnects, ReconnectAttempts, CircuitRejections, DeniedInbound, DeniedOutbound;
    public int OpenCircuits;

    public readonly RateWindow Messages;
    public readonly LatencyHistogram Ping = new();
    public readonly LatencyHistogram Handshake = new();
    private readonly Meter _meter;
    private readonly Histogram<double> _pingDuration;
    private readonly Histogram<double> _handshakeDuration;

    public ManagerMetrics(TimeProvider time, PeerId localPeer, Func<(int Active, int Idle, int Max, int Peers)> counts)
    {
        Messages = new RateWindow(time, () => Volatile.Read(ref MessagesSent) + Volatile.Read(ref MessagesReceived));
        _meter = new Meter(new MeterOptions(MeterName)
        {
            Version = typeof(ManagerMetrics).Assembly.GetName().Version?.ToString(3),
            Tags = [new("qudag.node", localPeer.ToString())],
        });
        _meter.CreateObservableUpDownCounter("qudag.connection.count", () =>
        {
            var c = counts();
            return new[] { new Measurement<int>(c.Active, new KeyValuePair<string, object?>("state", "active")),
                           new Measurement<int>(c.Idle, new KeyValuePair<string, object?>("state", "idle")) };
        }, "{connection}", "Open connections by state.");
        _meter.CreateObservableUpDownCounter("qudag.connection.max", () => counts().Max, "{connection}", "The limit on open connections.");
        _meter.CreateObservableUpDownCounter("qudag.peer.count", () => counts().Peers, "{peer}", "Tracked peers.");
        _meter.CreateObservableCounter("qudag.messages", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref MessagesSent), new KeyValuePair<string, object?>("direction", "sent")),
            new Measurement<long>(Volatile.Read(ref MessagesReceived), new KeyValuePair<string, object?>("direction", "received")),
        }, "{message}", "DATA messages.");
        _meter.CreateObservableCounter("qudag.bytes", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref BytesSent), new KeyValuePair<string, object?>("direction", "sent")),
            new Measurement<long>(Volatile.Read(ref BytesReceived), new KeyValuePair<string, object?>("direction", "received")),
        }, "By", "DATA payload bytes.");
        _meter.CreateObservableCounter("qudag.pool.requests", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref PoolHits), new KeyValuePair<string, object?>("result", "hit")),
            new Measurement<long>(Volatile.Read(ref PoolMisses), new KeyValuePair<string, object?>("result", "miss")),
        }, "{request}", "Connects served from the idle pool (hit) or dialed (miss).");
        _meter.CreateObservableCounter("qudag.pool.expirations", () => Volatile.Read(ref PoolExpirations), "{connection}",
            "Idle connections closed by the pool timeout.");
        _meter.CreateObservableCounter("qudag.connection.failures", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref FailedConnects), new KeyValuePair<string, object?>("direction", "outbound")),
            new Measurement<long>(Volatile.Read(ref FailedInbound), new KeyValuePair<string, object?>("direction", "inbound")),
        }, "{connection}", "Connections that failed before they were established.");
        _meter.CreateObservableCounter("qudag.connection.denied", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref DeniedOutbound), new KeyValuePair<string, object?>("direction", "outbound")),
            new Measurement<long>(Volatile.Read(ref DeniedInbound), new KeyValuePair<string, object?>("direction", "inbound")),
        }, "{connection}", "Connections refused by the connection gater.");
        _meter.CreateObservableCounter("qudag.keepalive.failures", () => Volatile.Read(ref KeepAliveFailures), "{connection}",
            "Connections failed because a keepalive PING went unanswered.");
        _meter.CreateObservableCounter("qudag.reconnect.attempts", () => Volatile.Read(ref ReconnectAttempts), "{attempt}",
            "Automatic reconnect dials.");
        _meter.CreateObservableUpDownCounter("qudag.circuit.open", () => Volatile.Read(ref OpenCircuits), "{peer}",
            "Peers whose circuit breaker is open or half-open.");
        _meter.CreateObservableCounter("qudag.circuit.rejections", () => Volatile.Read(ref CircuitRejections), "{connect}",
            "Connects failed fast by an open circuit breaker.");
        _meter.CreateObservableGauge("qudag.messages.rate", () => Messages.PerSecond(), "{message}/s", "DATA messages per second over the rate window.");
        _pingDuration = _meter.CreateHistogram<double>("qudag.ping.duration", "s", "Ping round trips.");
        _handshakeDuration = _meter.CreateHistogram<double>("qudag.handshake.duration", "s", "TCP + TLS + HELLO.");
    }

    public void RecordPing(TimeSpan roundTrip)
    {
        Ping.Record(roundTrip);
        _pingDuration.Record(roundTrip.TotalSeconds);
    }

    public void RecordHandshake(TimeSpan duration)
    {
        Handshake.Record(duration);
        _handshakeDuration.Record(duration.TotalSeconds);
    }

    public void RecordSent(int bytes)
    {
        Interlocked.Increment(ref MessagesSent);
        Interlocked.Add(ref BytesSent, bytes);
    }

    public void RecordReceived(int bytes)
    {
        Interlocked.Increment(ref MessagesReceived);
        Interlocked.Add(ref BytesReceived, bytes);
    }

    public void Dispose()
    {
        _meter.Dispose();
        Messages.Dispose();
    }
}
