namespace QuDag.Network;

/// <summary>
/// Inbound connections, once the host upgraded them (the host's scope counted each under MaxConnections before its
/// handshake, or refused it): each is adopted as its peer's active connection. When both ends dialed each other at once, both keep the connection dialed by
/// the peer with the lower id, so they agree without talking.
/// </summary>
internal sealed class InboundAdmission(PeerId localPeerId, ManagerMetrics metrics, ConnectionGater gater, IdlePool<PeerConnection> pool,
    PeerActivation activation, DialerLifetime lifetime)
{
    /// <summary>Admits an inbound connection the host raised; nothing escapes (each failure releases what it held).</summary>
    public async Task AcceptAsync(PeerConnection connection)
    {
        if (!lifetime.TryEnter())
        {
            await connection.AbortAsync(CloseReason.Shutdown, "the manager was disposed").ConfigureAwait(false);
            return;
        }
        try
        {
            if (connection.RemoteId == localPeerId || lifetime.IsDisposed)
            {
                await connection.CloseAsync(lifetime.IsDisposed ? CloseReason.Shutdown : CloseReason.LocalDisconnect,
                    lifetime.IsDisposed ? "the manager was disposed" : "a node does not connect to itself").ConfigureAwait(false);
                return;
            }
            var entry = await activation.EnterGateAsync(connection.RemoteId, named: false, CancellationToken.None).ConfigureAwait(false);
            try
            {
                await AdoptAsync(entry, connection).ConfigureAwait(false);
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        catch (Exception)
        {
            // Nothing escapes an accept: each failure above already released what it held.
        }
        finally
        {
            lifetime.Exit();
        }
    }

    /// <summary>Makes an inbound connection the peer's active one, or closes it as the loser of a simultaneous dial.</summary>
    private async Task AdoptAsync(PeerEntry entry, PeerConnection connection)
    {
        if (!gater.IsAllowed(entry.Id, GateDirection.Inbound)) // denied while its upgrade ran
        {
            metrics.RecordDenied(inbound: true);
            await connection.CloseAsync(CloseReason.Gated, "refused by the connection gater").ConfigureAwait(false);
            return;
        }
        var existing = entry.Active;
        if (existing is { IsOpen: true })
        {
            var keepExisting = !existing.Inbound && PeerIdOrder.Compare(localPeerId, entry.Id) < 0;
            if (keepExisting)
            {
                await connection.CloseAsync(CloseReason.LocalDisconnect, "duplicate: the peer with the lower id dials").ConfigureAwait(false);
                return;
            }
            await activation.ReplaceAsync(entry, existing, connection).ConfigureAwait(false);
            return;
        }
        if (existing is not null)
            activation.TryDeactivate(entry, existing, existing.CloseInfo);
        if (pool.TryTake(entry.Id) is { } pooled)
            await pooled.CloseAsync(CloseReason.LocalDisconnect, "replaced by a newer connection from the same peer").ConfigureAwait(false);
        activation.Activate(entry, connection);
    }
}
