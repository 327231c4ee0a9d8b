namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>The allow and deny lists this manager enforces (<see cref="ConnectionManagerOptions.Gater"/>).</summary>
    public ConnectionGater Gater => _options.Gater;

    // Runs inside the TLS handshake, as soon as the client's certificate is known: a refused peer never gets a HELLO.
    private bool AdmitInbound(PeerId peerId)
    {
        if (_options.Gater.IsAllowed(peerId, GateDirection.Inbound))
            return true;
        Interlocked.Increment(ref _metrics.DeniedInbound);
        return false;
    }

    /// <summary>A peer that lost the right to connect loses its live and pooled connections of that direction.</summary>
    private void OnGaterChanged(PeerId peerId)
    {
        if (IsDisposed || !_peers.TryGetValue(peerId, out var entry))
            return;
        var gater = _options.Gater;
        if (Volatile.Read(ref entry.Active) is { } active && !gater.IsAllowed(peerId, active.Inbound ? GateDirection.Inbound : GateDirection.Outbound))
        {
            StopReconnect(entry);
            _ = active.CloseAsync("refused by the connection gater");
        }
        if (_pool.Find(peerId) is { } pooled && !gater.IsAllowed(peerId, pooled.Connection.Inbound ? GateDirection.Inbound : GateDirection.Outbound)
            && _pool.TryTake(peerId) is { } taken)
            _ = taken.CloseAsync("refused by the connection gater");
    }
}
