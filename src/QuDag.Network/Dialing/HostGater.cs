namespace QuDag.Network;

/// <summary>
/// The allow and deny lists as the libp2p host's gater: an outbound peer is refused before any socket opens,
/// an inbound one right after its security handshake proved who it is, before a muxer runs.
/// </summary>
internal sealed class HostGater(ConnectionGater gater, ManagerMetrics metrics) : P2p.Upgrade.IConnectionGater
{
    public bool InterceptPeerDial(PeerId peer) => gater.IsAllowed(peer, GateDirection.Outbound);

    public bool InterceptSecured(P2p.Upgrade.Direction direction, PeerId peer, System.Net.EndPoint remote)
    {
        var gate = direction == P2p.Upgrade.Direction.Inbound ? GateDirection.Inbound : GateDirection.Outbound;
        if (gater.IsAllowed(peer, gate))
            return true;
        // A refused inbound connection is also a failed one (FailedInbound, reason Denied), as a refusal at the limit is:
        // the host reports it through InboundUpgradeFailed, which the manager records, so only the denial counts here.
        if (gate == GateDirection.Inbound)
            metrics.RecordDenied(inbound: true);
        return false;
    }
}
