namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>The allow and deny lists this manager enforces (<see cref="ConnectionManagerOptions.Gater"/>).</summary>
    public ConnectionGater Gater => _gater;

    // Runs inside the TLS handshake, as soon as the client's certificate is known: a refused peer never gets a HELLO.
    private bool AdmitInbound(PeerId peerId)
    {
        if (_gater.IsAllowed(peerId, GateDirection.Inbound))
            return true;
        Interlocked.Increment(ref _metrics.DeniedInbound);
        return false;
    }

    /// <summary>
    /// A rule changed: every live and pooled connection is checked again, not only the named peer's, since starting an
    /// allow list takes the right away from every peer not on it. Rules change rarely; this is one pass over the peers.
    /// </summary>
    private void OnGaterChanged(PeerId changed)
    {
        if (IsDisposed)
            return;
        var gater = _gater;
        foreach (var entry in _peers.Values)
        {
            var peerId = entry.Id;
            if (Volatile.Read(ref entry.Active) is { } active && !gater.IsAllowed(peerId, Direction(active)))
            {
                StopReconnect(entry);
                _ = active.CloseAsync("refused by the connection gater");
            }
            if (_pool.Find(peerId) is { } pooled && !gater.IsAllowed(peerId, Direction(pooled.Connection)) && _pool.TryTake(peerId) is { } taken)
                _ = taken.CloseAsync("refused by the connection gater");
        }
    }

    private static GateDirection Direction(PeerConnection connection) => connection.Inbound ? GateDirection.Inbound : GateDirection.Outbound;
}
