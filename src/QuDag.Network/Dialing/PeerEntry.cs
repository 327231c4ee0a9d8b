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

    private ConnectionSummary? _lastConnection;

    /// <summary>
    /// The peer's last active connection as it was, kept after it closes: a peer that dialed us has no address-book
    /// entry, and without this it would lose its endpoint, direction and security the moment it disconnects.
    /// </summary>
    public ConnectionSummary? LastConnection
    {
        get => Volatile.Read(ref _lastConnection);
        set => Volatile.Write(ref _lastConnection, value);
    }
}

/// <summary>What a peer's table row keeps of a connection that has closed.</summary>
internal sealed record ConnectionSummary(System.Net.EndPoint RemoteEndPoint, bool Inbound, string Security, string Muxer);
