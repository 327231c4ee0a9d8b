using System.Net;

namespace QuDag.Network;

/// <summary>
/// One peer's record in the table plus what dialing keeps for it: the gate that serialises its connects, its active
/// connection, its circuit breaker and reconnect state, and its round trips. Its fields change only through the
/// methods below, each named for what happened to the peer.
/// </summary>
internal sealed class PeerEntry(PeerId id) : PeerRecord(id)
{
    private PeerConnection? _active;
    private PeerCircuit? _circuit;
    private int _circuitCounted; // 1 while this peer's open circuit is counted in the metrics
    private long _lastRoundTripTicks; // 0: none yet; a long so reads are never torn
    private RoundTripHistory? _roundTrips;
    private int _departed;
    private ConnectionSummary? _lastConnection;

    /// <summary>Serialises connect and disconnect for this peer; status and sends do not take it.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>
    /// The active connection: set under <see cref="Gate"/> (<see cref="Connected"/>, <see cref="Replaced"/>), cleared by
    /// whoever wins <see cref="TryClearActive"/> (a disconnect or the connection's own close), and that one alone updates
    /// the counts and status.
    /// </summary>
    public PeerConnection? Active => Volatile.Read(ref _active);

    /// <summary>The peer's circuit breaker: made at a failed dial, dropped at the next success (null while healthy).</summary>
    public PeerCircuit? Circuit => Volatile.Read(ref _circuit);

    /// <summary>The peer's auto-reconnect setting and its running loop (the <see cref="Reconnector"/> drives it).</summary>
    public ReconnectState Reconnect { get; } = new();

    /// <summary>The last ping round trip, or null before the first.</summary>
    public TimeSpan? LastRoundTrip => Volatile.Read(ref _lastRoundTripTicks) is > 0 and var ticks ? TimeSpan.FromTicks(ticks) : null;

    /// <summary>The last ping round trips (ConnectionManager.GetRoundTrips); made at the first ping.</summary>
    public RoundTripHistory? RoundTrips => Volatile.Read(ref _roundTrips);

    /// <summary>
    /// The peer's last active connection as it was, kept after it closes: a peer that dialed us has no address-book
    /// entry, and without this it would lose its endpoint, direction and security the moment it disconnects.
    /// </summary>
    public ConnectionSummary? LastConnection => Volatile.Read(ref _lastConnection);

    /// <summary><paramref name="connection"/> became the peer's active one (under the gate): the last error is history.</summary>
    public void Connected(PeerConnection connection)
    {
        Replaced(connection);
        ClearLastError();
    }

    /// <summary><paramref name="connection"/> took the place of the peer's active one in place (a newer inbound duplicate).</summary>
    public void Replaced(PeerConnection connection)
    {
        Volatile.Write(ref _lastConnection, new ConnectionSummary(connection.RemoteEndPoint, connection.Inbound,
            connection.Connection.Security, connection.Connection.Muxer));
        Volatile.Write(ref _active, connection);
    }

    /// <summary>Clears the active connection if it is still <paramref name="connection"/>; exactly one caller wins.</summary>
    public bool TryClearActive(PeerConnection connection) => Interlocked.CompareExchange(ref _active, null, connection) == connection;

    /// <summary>A dial failed with no breaker yet (under the gate): <paramref name="circuit"/> watches the peer from now.</summary>
    public void Watch(PeerCircuit circuit) => Volatile.Write(ref _circuit, circuit);

    /// <summary>The breaker was turned off: the peer's stops counting as open, and goes.</summary>
    public void DropCircuit()
    {
        Volatile.Read(ref _circuit)?.Reset();
        Volatile.Write(ref _circuit, null);
    }

    /// <summary>A dial succeeded: a breaker that closed again goes, so a healthy peer carries none.</summary>
    public void DropCircuitIfClosed()
    {
        if (Volatile.Read(ref _circuit) is { State: CircuitState.Closed } circuit)
            Interlocked.CompareExchange(ref _circuit, null, circuit);
    }

    /// <summary>The breaker changed state: +1, -1 or 0 for the count of open circuits (open and half-open count).</summary>
    public int CircuitChanged(CircuitState state)
    {
        var isOpen = state == CircuitState.Closed ? 0 : 1;
        return isOpen - Interlocked.Exchange(ref _circuitCounted, isOpen);
    }

    /// <summary>A ping round trip completed at <paramref name="at"/>.</summary>
    public void RoundTrip(TimeSpan roundTrip, DateTimeOffset at)
    {
        Volatile.Write(ref _lastRoundTripTicks, Math.Max(roundTrip.Ticks, 1));
        var history = Volatile.Read(ref _roundTrips);
        if (history is null)
        {
            var created = new RoundTripHistory();
            history = Interlocked.CompareExchange(ref _roundTrips, created, null) ?? created;
        }
        history.Add(new RoundTripSample(at, roundTrip));
    }

    /// <summary>The peer joins <see cref="DepartedPeers"/>'s queue; false when it waits there already.</summary>
    public bool TryDepart() => Interlocked.Exchange(ref _departed, 1) == 0;

    /// <summary>The peer left <see cref="DepartedPeers"/>'s queue.</summary>
    public void LeftDeparted() => Volatile.Write(ref _departed, 0);

    /// <summary>
    /// Where to redial the peer: its address-book endpoint, else (a peer known only from its inbound connection) the
    /// first TCP listen address its identify announced, preferring one on the address it was seen at.
    /// </summary>
    public EndPoint? RedialTarget()
    {
        if (EndPoint is { } known)
            return known;
        if (Identify is not { } identify)
            return null;
        EndPoint? first = null;
        foreach (var bytes in identify.ListenAddrs)
        {
            if (!Multiaddr.TryFromBytes(bytes, out var address) || !address.TryGetEndPoint(out var endPoint))
                continue;
            if (endPoint is IPEndPoint ip && SeenAt is IPAddress seen && ip.Address.Equals(seen))
                return endPoint;
            first ??= endPoint;
        }
        return first;
    }
}

/// <summary>What a peer's table row keeps of a connection that has closed.</summary>
internal sealed record ConnectionSummary(EndPoint RemoteEndPoint, bool Inbound, string Security, string Muxer);
