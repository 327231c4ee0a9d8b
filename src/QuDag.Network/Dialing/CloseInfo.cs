namespace QuDag.Network;

/// <summary>How a connection ended.</summary>
/// <param name="Code">Why, from the closed set (what metrics count and the peer keeps).</param>
/// <param name="Reason">Human-readable cause.</param>
/// <param name="Failed">True for a fault (protocol violation, I/O error); false for an orderly close.</param>
/// <param name="Deliberate">Closed on purpose by this node (not lost), so auto-reconnect leaves it closed.</param>
/// <param name="Scope">For <see cref="CloseReason.Limit"/>: the scope whose limit closed it ("system", ...).</param>
internal readonly record struct CloseInfo(CloseReason Code, string Reason, bool Failed, bool Deliberate = false, string? Scope = null);

/// <summary>What a <see cref="PeerConnection"/> reports to the manager that owns it.</summary>
internal interface IConnectionOwner
{
    /// <summary>The handshake finished; called before the connection's loops start, so always before <see cref="OnClosed"/>.</summary>
    void OnOpened(PeerConnection connection);

    /// <summary>A DATA frame arrived; the payload is a copy the callee owns. Awaiting it applies backpressure.</summary>
    ValueTask OnDataAsync(PeerConnection connection, byte[] payload, DateTimeOffset receivedAt, CancellationToken cancellationToken);

    /// <summary>A ping round trip completed.</summary>
    void OnPingRoundTrip(PeerConnection connection, TimeSpan roundTrip);

    /// <summary>The connection closed and its socket is released; called exactly once.</summary>
    void OnClosed(PeerConnection connection, CloseInfo info);
}
