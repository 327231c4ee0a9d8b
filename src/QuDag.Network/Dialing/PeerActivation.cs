namespace QuDag.Network;

/// <summary>
/// Which connection is each peer's active one: makes one active, clears it when it closes or the peer is disconnected
/// (to the idle pool, or closed), and owns the count of active connections. Every change of a peer's active connection
/// goes through here, under the peer's gate, with the status it means.
/// </summary>
internal sealed class PeerActivation(Func<ConnectionManagerOptions> settings, PeerTable<PeerEntry> peers, IdlePool<PeerConnection> pool,
    DialerLifetime lifetime)
{
    private int _active; // connections set as some peer's Active

    /// <summary>Connections set as some peer's active one.</summary>
    public int ActiveCount => Volatile.Read(ref _active);

    /// <summary>The peer's open active connection.</summary>
    /// <exception cref="PeerNotConnectedException">It has none.</exception>
    public PeerConnection ActiveConnection(PeerId peerId) =>
        peers.TryGet(peerId, out var entry) && entry.Active is { IsOpen: true } connection
            ? connection
            : throw new PeerNotConnectedException(peerId);

    /// <summary>True while the peer has an open active connection.</summary>
    public bool IsConnected(PeerId peerId) => peers.TryGet(peerId, out var entry) && entry.Active is { IsOpen: true };

    /// <summary>The peer's entry with its gate taken; one forgotten while we waited is looked up afresh.</summary>
    public async Task<PeerEntry> EnterGateAsync(PeerId peerId, bool named, CancellationToken cancellationToken)
    {
        while (true)
        {
            var entry = named ? peers.GetOrAddNamed(peerId) : peers.GetOrAdd(peerId);
            await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!entry.IsForgotten)
                return entry;
            entry.Gate.Release();
        }
    }

    /// <summary>Makes <paramref name="connection"/> the peer's active one; undoes it if the connection closed meanwhile.</summary>
    public void Activate(PeerEntry entry, PeerConnection connection)
    {
        entry.Connected(connection);
        Interlocked.Increment(ref _active);
        peers.SetStatus(entry, ConnectionStatus.Connected, null);
        if (!connection.IsOpen)
            TryDeactivate(entry, connection, connection.CloseInfo);
        // Its close may have run between the write above and Connected: that close deactivated it and set its
        // status first, and Connected then overwrote it. The close's status stands.
        if (!ReferenceEquals(entry.Active, connection) && connection.CloseInfo is { } closed
            && entry.Status == ConnectionStatus.Connected)
        {
            peers.SetStatus(entry, closed.Failed ? ConnectionStatus.Failed : ConnectionStatus.Disconnected, closed.Reason, close: (closed.Code, closed.Scope));
        }
    }

    /// <summary>
    /// Puts <paramref name="connection"/> in the place of the peer's open active <paramref name="existing"/> and closes
    /// that one: the active count stays, and the old connection's close finds itself replaced.
    /// </summary>
    public async Task ReplaceAsync(PeerEntry entry, PeerConnection existing, PeerConnection connection)
    {
        entry.Replaced(connection);
        await existing.CloseAsync(CloseReason.LocalDisconnect, "replaced by a newer connection from the same peer").ConfigureAwait(false);
        if (!connection.IsOpen)
            TryDeactivate(entry, connection, connection.CloseInfo);
    }

    /// <summary>Clears the peer's active connection if it is still <paramref name="connection"/>; one caller wins.</summary>
    public bool TryDeactivate(PeerEntry entry, PeerConnection connection, CloseInfo? info)
    {
        if (!entry.TryClearActive(connection))
            return false;
        Interlocked.Decrement(ref _active);
        if (info is { } i)
            peers.SetStatus(entry, i.Failed ? ConnectionStatus.Failed : ConnectionStatus.Disconnected, i.Reason, close: (i.Code, i.Scope));
        return true;
    }

    /// <summary>Disconnects a peer: to the idle pool, or with <paramref name="close"/> closed (and any pooled one too).</summary>
    public async Task DisconnectAsync(PeerId peerId, bool close, CancellationToken cancellationToken)
    {
        if (!peers.TryGet(peerId, out var entry))
            return;
        if (!lifetime.TryEnter())
            throw new ObjectDisposedException(nameof(ConnectionManager));
        try
        {
            Reconnector.Stop(entry.Reconnect);
            await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var connection = entry.Active;
                var released = connection is not null && TryDeactivate(entry, connection, null);
                // The connection may have been lost between the first stop and the deactivation, and its close may have
                // started a reconnect: this disconnect is on purpose, so stop that one too.
                Reconnector.Stop(entry.Reconnect);
                var pooling = released && connection!.IsOpen && !close && settings().PoolTimeout > TimeSpan.Zero;
                var closing = released ? !pooling : close && pool.Find(peerId) is not null;
                // The status change says the close's reason; the closes below are then not logged a second time.
                if (entry.Status is not null)
                    peers.SetStatus(entry, ConnectionStatus.Disconnected, null, close: closing ? (CloseReason.LocalDisconnect, null) : null);
                if (pooling)
                {
                    Pool(connection!);
                    return;
                }
                if (released)
                {
                    connection!.MarkCloseReported();
                    await connection.CloseAsync(CloseReason.LocalDisconnect, "disconnected").ConfigureAwait(false);
                }
                if (close && pool.TryTake(peerId) is { } pooled)
                {
                    pooled.MarkCloseReported();
                    await pooled.CloseAsync(CloseReason.LocalDisconnect, "disconnected").ConfigureAwait(false);
                }
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        finally
        {
            lifetime.Exit();
        }
    }

    /// <summary>Parks an open connection in the idle pool; one that closed meanwhile leaves it again.</summary>
    public void Pool(PeerConnection connection)
    {
        pool.Add(connection);
        if (!connection.IsOpen)
            pool.Forget(connection);
    }
}
