using System.Net;
using System.Net.Sockets;
using Polly.CircuitBreaker;
using QuDag.P2p;
using QuDag.P2p.Muxing;
using QuDag.P2p.Transport.Tcp;
using QuDag.P2p.Upgrade;

namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>
    /// Connects to a peer at the endpoint in the address book. Reuses its pooled connection when there is a
    /// live one (no new TCP or TLS handshake); returns at once when it is already connected.
    /// </summary>
    /// <exception cref="PeerAddressUnknownException">No endpoint is known for the peer.</exception>
    /// <exception cref="ConnectionLimitReachedException">At the limit with nothing idle to close.</exception>
    /// <exception cref="PeerConnectException">Refused, timed out, failed authentication or the identity check.</exception>
    public Task ConnectAsync(PeerId peerId, CancellationToken cancellationToken = default) =>
        ConnectCoreAsync(peerId, null, cancellationToken);

    /// <summary>Connects to a peer at <paramref name="endPoint"/>, which also goes into the address book.</summary>
    /// <inheritdoc cref="ConnectAsync(PeerId, CancellationToken)"/>
    public Task ConnectAsync(PeerId peerId, EndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return ConnectCoreAsync(peerId, endPoint, cancellationToken);
    }

    private async Task ConnectCoreAsync(PeerId peerId, EndPoint? endPoint, CancellationToken cancellationToken)
    {
        if (peerId == LocalPeerId)
            throw new ArgumentException("A node does not connect to itself.", nameof(peerId));
        if (!TryEnter())
            throw new ObjectDisposedException(nameof(ConnectionManager));
        try
        {
            if (!_gater.IsAllowed(peerId, GateDirection.Outbound))
            {
                _metrics.RecordFailure(inbound: false, FailureReason.Denied);
                Interlocked.Increment(ref _metrics.DeniedOutbound);
                throw new PeerDeniedException(peerId);
            }
            var entry = GetOrAddEntry(peerId);
            if (endPoint is not null)
                entry.EndPoint = endPoint;
            await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var current = Volatile.Read(ref entry.Active);
                if (current is { IsOpen: true })
                    return;
                if (current is not null)
                    TryDeactivate(entry, current, current.CloseInfo);
                if (_pool.TryTake(peerId) is { } pooled)
                {
                    if (pooled.IsOpen)
                    {
                        Interlocked.Increment(ref _metrics.PoolHits);
                        Activate(entry, pooled);
                        return;
                    }
                    // It closed while pooled; its own close releases the socket slot.
                }
                Interlocked.Increment(ref _metrics.PoolMisses);
                var target = RedialTarget(entry) ?? throw new PeerAddressUnknownException(peerId);
                await DialAsync(entry, target, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        finally
        {
            Exit();
        }
    }

    private async Task DialAsync(PeerEntry entry, EndPoint target, CancellationToken cancellationToken)
    {
        // An open circuit fails fast before a slot is taken, so it never evicts a pooled connection for nothing.
        if (entry.Circuit is { State: CircuitState.Open })
            throw CircuitOpen(entry, null);
        try
        {
            await ReserveSlotAsync(entry.Id).ConfigureAwait(false);
        }
        catch (ConnectionLimitReachedException ex)
        {
            _metrics.RecordFailure(inbound: false, FailureReason.LimitReached);
            SetStatus(entry, ConnectionStatus.Failed, ex.Message);
            throw;
        }
        PeerConnection connection;
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
            connection = await DialThroughBreakerAsync(entry, target, linked.Token).ConfigureAwait(false);
        }
        catch (BrokenCircuitException ex)
        {
            // Polly's clock can end the break a moment after ours: the breaker refused after the slot was taken.
            Interlocked.Decrement(ref _open);
            throw CircuitOpen(entry, ex);
        }
        catch (Exception ex)
        {
            Interlocked.Decrement(ref _open);
            _metrics.RecordFailure(inbound: false, _disposing.IsCancellationRequested ? FailureReason.Cancelled : FailureReasons.Of(ex));
            if (_disposing.IsCancellationRequested)
            {
                SetStatus(entry, ConnectionStatus.Failed, "the manager was disposed");
                throw new ObjectDisposedException(nameof(ConnectionManager), ex);
            }
            if (ex is OperationCanceledException)
            {
                SetStatus(entry, ConnectionStatus.Disconnected, "the connect was cancelled");
                throw;
            }
            if (ex is PeerDeniedException)
            {
                SetStatus(entry, ConnectionStatus.Disconnected, "refused by the connection gater");
                throw;
            }
            SetStatus(entry, ConnectionStatus.Failed, ex.Message);
            throw;
        }
        if (IsDisposed)
        {
            await connection.CloseAsync("the manager was disposed").ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(ConnectionManager));
        }
        // The gater may have changed while the handshake ran; a rule change only sees established connections.
        if (!_gater.IsAllowed(entry.Id, GateDirection.Outbound))
        {
            await connection.CloseAsync("refused by the connection gater").ConfigureAwait(false);
            _metrics.RecordFailure(inbound: false, FailureReason.Denied);
            Interlocked.Increment(ref _metrics.DeniedOutbound);
            SetStatus(entry, ConnectionStatus.Disconnected, "refused by the connection gater");
            throw new PeerDeniedException(entry.Id);
        }
        Activate(entry, connection);
    }

    /// <summary>Counts a connect the open circuit refused and describes it.</summary>
    private PeerCircuitOpenException CircuitOpen(PeerEntry entry, Exception? inner)
    {
        _metrics.RecordFailure(inbound: false, FailureReason.CircuitOpen);
        Interlocked.Increment(ref _metrics.CircuitRejections);
        // The status stays Failed and the last error stays the real cause; the breaker only says "not now".
        SetStatus(entry, ConnectionStatus.Failed, null);
        return new PeerCircuitOpenException(entry.Id, entry.Circuit?.OpenUntil, inner);
    }

    /// <summary>Dials through the libp2p host; maps its failures to the manager's typed connect errors.</summary>
    private async Task<PeerConnection> HandshakeAsync(PeerEntry entry, EndPoint target, CancellationToken cancellationToken)
    {
        SetStatus(entry, ConnectionStatus.Connecting, null);
        P2pConnection connection;
        try
        {
            connection = await _host.DialAsync(target, entry.Id, cancellationToken).ConfigureAwait(false);
        }
        catch (PeerIdMismatchException ex)
        {
            throw new PeerIdentityMismatchException(entry.Id, ex.Actual, target);
        }
        catch (TimeoutException ex)
        {
            throw new PeerConnectException($"Connecting to {target} timed out: {ex.Message}", entry.Id, target, ConnectFailureKind.Timeout, ex);
        }
        catch (AddressResolutionException ex)
        {
            throw new PeerConnectException(ex.Message, entry.Id, target, ConnectFailureKind.Unreachable, ex);
        }
        catch (ConnectionGatedException) when (!_gater.IsAllowed(entry.Id, GateDirection.Outbound))
        {
            // Denied while the handshake ran: the same refusal as one before the dial, not a failure of the peer.
            Interlocked.Increment(ref _metrics.DeniedOutbound);
            throw new PeerDeniedException(entry.Id);
        }
        catch (ConnectionGatedException ex)
        {
            throw new PeerConnectException(ex.Message, entry.Id, target, ConnectFailureKind.Denied, ex);
        }
        catch (ProtocolNotSupportedException ex)
        {
            throw new PeerConnectException($"{target} speaks no security protocol or muxer of ours: {ex.Message}", entry.Id, target, ConnectFailureKind.Protocol, ex);
        }
        catch (P2pProtocolException ex)
        {
            throw new PeerConnectException($"The libp2p handshake with {target} failed: {ex.Message}", entry.Id, target, ConnectFailureKind.Authentication, ex);
        }
        catch (P2pException ex)
        {
            throw new PeerConnectException($"Connecting to {target} failed: {ex.Message}", entry.Id, target, ConnectFailureKind.Unreachable, ex);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
        {
            throw new PeerConnectException($"The connection to {target} closed during the handshake: {ex.Message}", entry.Id, target, ConnectFailureKind.Closed, ex);
        }
        return _wrappers.TryGetValue(connection, out var wrapper)
            ? wrapper
            : throw new PeerConnectException($"The connection to {target} closed right after its handshake.", entry.Id, target, ConnectFailureKind.Closed);
    }

    /// <summary>
    /// The host upgraded a connection. Outbound ones belong to the dial that asked for them and already hold a
    /// slot; inbound ones must find a slot, or are closed. Runs before the host serves any of its streams.
    /// </summary>
    private void OnHostConnectionOpened(P2pConnection connection)
    {
        var wrapper = new PeerConnection(this, _host, connection, _options);
        _wrappers[connection] = wrapper;
        if (connection.Direction == P2p.Upgrade.Direction.Outbound)
            wrapper.TryHoldSlot();
        wrapper.Start();
        if (_options.IdentifyPeers)
            _ = RememberIdentifyAsync(connection);
        if (connection.Direction == P2p.Upgrade.Direction.Inbound)
            _ = AcceptAsync(wrapper);
    }

    /// <summary>Keeps what the peer said of itself (agent, protocols, listen addresses) past its connection.</summary>
    private async Task RememberIdentifyAsync(P2pConnection connection)
    {
        try
        {
            var identify = await _host.IdentifyAsync(connection).ConfigureAwait(false);
            if (IsDisposed)
                return;
            var entry = GetOrAddEntry(connection.RemotePeer);
            Volatile.Write(ref entry.Identify, identify);
            if (connection.RemoteEndPoint is System.Net.IPEndPoint ip)
                entry.SeenAt = ip.Address;
        }
        catch (Exception)
        {
            // A peer that does not answer identify is still a peer; it only lacks those details.
        }
    }

    private async Task AcceptAsync(PeerConnection connection)
    {
        if (!TryEnter())
        {
            await connection.AbortAsync("the manager was disposed").ConfigureAwait(false);
            return;
        }
        try
        {
            try
            {
                await ReserveSlotAsync(null).ConfigureAwait(false);
            }
            catch (ConnectionLimitReachedException)
            {
                _metrics.RecordFailure(inbound: true, FailureReason.LimitReached);
                await connection.AbortAsync("refused: the connection limit is reached").ConfigureAwait(false);
                return;
            }
            if (!connection.TryHoldSlot())
            {
                Interlocked.Decrement(ref _open); // it closed while we waited for the slot
                return;
            }
            if (connection.RemoteId == LocalPeerId || IsDisposed)
            {
                await connection.CloseAsync(IsDisposed ? "the manager was disposed" : "a node does not connect to itself").ConfigureAwait(false);
                return;
            }
            var entry = GetOrAddEntry(connection.RemoteId);
            await entry.Gate.WaitAsync().ConfigureAwait(false);
            try
            {
                await AdoptInboundAsync(entry, connection).ConfigureAwait(false);
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
            Exit();
        }
    }

    private Task ServeMessagesAsync(MuxedStream stream, P2pConnection connection, CancellationToken cancellationToken)
        => _wrappers.TryGetValue(connection, out var wrapper)
            ? wrapper.ReceiveMessagesAsync(stream, cancellationToken)
            : Task.CompletedTask;

    /// <summary>
    /// Makes an inbound connection the peer's active one. When both ends dialed each other at once, both
    /// keep the connection dialed by the peer with the lower id, so they agree without talking.
    /// </summary>
    private async Task AdoptInboundAsync(PeerEntry entry, PeerConnection connection)
    {
        if (!_gater.IsAllowed(entry.Id, GateDirection.Inbound)) // denied while its HELLO exchange ran
        {
            Interlocked.Increment(ref _metrics.DeniedInbound);
            await connection.CloseAsync("refused by the connection gater").ConfigureAwait(false);
            return;
        }
        var existing = Volatile.Read(ref entry.Active);
        if (existing is { IsOpen: true })
        {
            var keepExisting = !existing.Inbound && PeerIdOrder.Compare(LocalPeerId, entry.Id) < 0;
            if (keepExisting)
            {
                await connection.CloseAsync("duplicate: the peer with the lower id dials").ConfigureAwait(false);
                return;
            }
            // Swap in place: the active count stays, and the old connection's close finds itself replaced.
            Volatile.Write(ref entry.Active, connection);
            await existing.CloseAsync("replaced by a newer connection from the same peer").ConfigureAwait(false);
            if (!connection.IsOpen)
                TryDeactivate(entry, connection, connection.CloseInfo);
            return;
        }
        if (existing is not null)
            TryDeactivate(entry, existing, existing.CloseInfo);
        if (_pool.TryTake(entry.Id) is { } pooled)
            await pooled.CloseAsync("replaced by a newer connection from the same peer").ConfigureAwait(false);
        Activate(entry, connection);
    }

    /// <summary>
    /// Disconnects a peer: its live connection goes to the idle pool (status <see cref="ConnectionStatus.Disconnected"/>)
    /// for a later connect to reuse. Does nothing for a peer the manager does not know.
    /// </summary>
    public Task DisconnectAsync(PeerId peerId) => DisconnectAsync(peerId, close: false);

    /// <summary>Disconnects a peer; with <paramref name="close"/> the connection (and any pooled one) is closed instead of pooled.</summary>
    public async Task DisconnectAsync(PeerId peerId, bool close, CancellationToken cancellationToken = default)
    {
        if (!_peers.TryGetValue(peerId, out var entry))
            return;
        if (!TryEnter())
            throw new ObjectDisposedException(nameof(ConnectionManager));
        try
        {
            StopReconnect(entry);
            await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var connection = Volatile.Read(ref entry.Active);
                var released = connection is not null && TryDeactivate(entry, connection, null);
                // The connection may have been lost between the first stop and the deactivation, and its close may have
                // started a reconnect: this disconnect is on purpose, so stop that one too.
                StopReconnect(entry);
                if (entry.Status is not null)
                    SetStatus(entry, ConnectionStatus.Disconnected, null);
                if (released && connection!.IsOpen && !close && _options.PoolTimeout > TimeSpan.Zero)
                {
                    _pool.Add(connection);
                    if (!connection.IsOpen)
                        _pool.Forget(connection);
                    return;
                }
                if (released)
                    await connection!.CloseAsync("disconnected").ConfigureAwait(false);
                if (close && _pool.TryTake(peerId) is { } pooled)
                    await pooled.CloseAsync("disconnected").ConfigureAwait(false);
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        finally
        {
            Exit();
        }
    }
}
