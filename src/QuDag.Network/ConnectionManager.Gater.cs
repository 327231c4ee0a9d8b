namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>The allow and deny lists this manager enforces (<see cref="ConnectionManagerOptions.Gater"/>).</summary>
    public ConnectionGater Gater => _gater;

    /// <summary>
    /// The allow and deny lists as the libp2p host's gater: an outbound peer is refused before any socket opens,
    /// an inbound one right after its security handshake proved who it is, before a muxer runs.
    /// </summary>
    private sealed class GaterAdapter(ConnectionManager manager) : P2p.Upgrade.IConnectionGater
    {
        public bool InterceptPeerDial(PeerId peer) => manager._gater.IsAllowed(peer, GateDirection.Outbound);

        public bool InterceptSecured(P2p.Upgrade.Direction direction, PeerId peer, System.Net.EndPoint remote)
        {
            var gate = direction == P2p.Upgrade.Direction.Inbound ? GateDirection.Inbound : GateDirection.Outbound;
            if (manager._gater.IsAllowed(peer, gate))
                return true;
            // Counted as denied here; the host then reports the failed inbound upgrade, which counts it in FailedInbound.
            if (gate == GateDirection.Inbound)
                Interlocked.Increment(ref manager._metrics.DeniedInbound);
            return false;
        }
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
