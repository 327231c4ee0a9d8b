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
        _peers.TryGet(peerId, out var entry) && Volatile.Read(ref entry.RoundTrips) is { } history ? history.Snapshot() : [];

    /// <summary>The last <see cref="EventLogCapacity"/> connection status changes of every peer, oldest first.</summary>
    public IReadOnlyList<ConnectionEvent> GetRecentEvents() => _peers.Events.Snapshot();
}
