namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>How many round trips <see cref="GetRoundTrips"/> keeps per peer.</summary>
    public const int RoundTripHistoryCapacity = RoundTripHistory.Capacity;

    /// <summary>How many status changes <see cref="GetRecentEvents"/> keeps.</summary>
    public const int EventLogCapacity = ConnectionEventLog.Capacity;

    /// <summary>
    /// The peer's last <see cref="RoundTripHistoryCapacity"/> ping round trips (keepalive and explicit pings), oldest
    /// first; empty for a peer never pinged or never seen.
    /// </summary>
    public IReadOnlyList<RoundTripSample> GetRoundTrips(PeerId peerId) =>
        _peers.TryGet(peerId, out var entry) && entry.RoundTrips is { } history ? history.Snapshot() : [];

    /// <summary>
    /// Runs <paramref name="startListening"/>, which starts a listener on this manager's <c>QuDag.Network</c> meter (an
    /// OpenTelemetry MeterProvider, a MeterListener), and hands the new listener what the manager's histograms
    /// (<c>qudag.ping.duration</c>, <c>qudag.connection.handshake.duration</c>) recorded before: System.Diagnostics.Metrics
    /// gives a late listener only later measurements. No measurement is recorded meanwhile. The replay keeps each bucket's
    /// count (in the instruments' advised bounds), the sum and the extremes; it costs one record per earlier measurement.
    /// A histogram that another listener already receives is not replayed (that listener would count it twice), so the
    /// new listener then sees only its later measurements.
    /// </summary>
    /// <returns>What <paramref name="startListening"/> returned.</returns>
    public T AttachMeterListener<T>(Func<T> startListening)
    {
        ArgumentNullException.ThrowIfNull(startListening);
        return _metrics.AttachListener(startListening);
    }

    /// <summary>The last <see cref="EventLogCapacity"/> connection status changes of every peer, oldest first.</summary>
    public IReadOnlyList<ConnectionEvent> GetRecentEvents() => _peers.Events.Snapshot();
}
