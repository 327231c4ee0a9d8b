namespace QuDag.Network;

/// <summary>
/// One peer's record in the table plus what dialing keeps for it: the gate that serialises its connects, its active
/// connection, its circuit breaker and reconnect state, and its round trips.
/// </summary>
internal sealed class PeerEntry(PeerId id) : PeerRecord(id)
{
    /// <summary>Serialises connect and disconnect for this peer; status and sends do not take it.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>
    /// The active connection: set under <see cref="Gate"/>, cleared by whoever wins the compare-exchange
    /// (a disconnect or the connection's own close), and that one alone updates the counts and status.
    /// </summary>
    public PeerConnection? Active;

    /// <summary>The peer's circuit breaker: made at a failed dial, dropped at the next success (null while healthy).</summary>
    public PeerCircuit? Circuit;

    /// <summary>1 while this peer's open circuit is counted in the metrics.</summary>
    public int CircuitCounted;

    /// <summary>The peer's auto-reconnect setting and its running loop (the <see cref="Reconnector"/> drives it).</summary>
    public ReconnectState Reconnect { get; } = new();

    /// <summary>Ticks of the last ping round trip (0: none yet); a long so reads are never torn.</summary>
    public long LastRoundTripTicks;

    /// <summary>1 while the peer waits in <see cref="DepartedPeers"/> to be forgotten.</summary>
    public int Departed;

    /// <summary>The last ping round trips (ConnectionManager.GetRoundTrips); made at the first ping.</summary>
    public RoundTripHistory? RoundTrips;
}
