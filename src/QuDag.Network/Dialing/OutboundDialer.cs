using System.Net;
using QuDag.P2p;
using QuDag.P2p.Host;
using QuDag.P2p.Muxing;
using QuDag.P2p.Resources;
using QuDag.P2p.Upgrade;

namespace QuDag.Network;

/// <summary>
/// Outbound connections: a caller's connect (an open active connection returns at once, a live pooled one is reused, else
/// a dial), a redial for the reconnector, and the DHT's short exchanges. A dial goes through the peer's breaker, then the
/// libp2p host's dial and upgrade (whose connection scope counts it under MaxConnections from before its socket: at the
/// limit the manager's relief evicts an idle connection or, with TrimAtLimit, trims one), and maps the stack's errors to
/// the manager's typed ones.
/// </summary>
internal sealed class OutboundDialer(
    Func<ConnectionManagerOptions> settings, PeerId localPeerId, P2pHost host, ManagerMetrics metrics, ConnectionGater gater,
    PeerTable<PeerEntry> peers, IdlePool<PeerConnection> pool, LiveConnections live, PeerActivation activation, DialBreaker breaker, DialerLifetime lifetime) : IRedialer
{
    /// <summary>
    /// Connects to a peer (see ConnectionManager.ConnectAsync); <paramref name="endPoint"/> also goes into the address
    /// book. <paramref name="named"/>: the API named the peer (a caller's connect, not a reconnect), so the table keeps it.
    /// <paramref name="timeout"/> bounds a dial (TCP and upgrade together); the settings' connect timeout when null.
    /// </summary>
    public async Task ConnectAsync(PeerId peerId, EndPoint? endPoint, bool named, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        Enter(peerId);
        try
        {
            if (!gater.IsAllowed(peerId, GateDirection.Outbound))
            {
                metrics.RecordFailure(inbound: false, ConnectFailureKind.Denied);
                metrics.RecordDenied(inbound: false);
                throw new PeerDeniedException(peerId);
            }
            var entry = await activation.EnterGateAsync(peerId, named, cancellationToken).ConfigureAwait(false);
            try
            {
                if (endPoint is not null)
                    entry.ReachedAt(endPoint);
                var current = entry.Active;
                if (current is { IsOpen: true })
                    return;
                if (current is not null)
                    activation.TryDeactivate(entry, current, current.CloseInfo);
                if (pool.TryTake(peerId) is { } pooled)
                {
                    if (pooled.IsOpen)
                    {
                        metrics.RecordPoolHit();
                        activation.Activate(entry, pooled);
                        return;
                    }
                    // It closed while pooled; its own close releases the socket slot.
                }
                metrics.RecordPoolMiss();
                var target = entry.RedialTarget() ?? throw new PeerAddressUnknownException(peerId);
                activation.Activate(entry, await DialAsync(entry, target, timeout ?? settings().ConnectTimeout, cancellationToken).ConfigureAwait(false));
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

    /// <summary>
    /// Runs one short exchange on a new stream to a peer (the DHT's requests) without making the peer "connected" for
    /// the caller: over its active connection if it has one, else its pooled one (which stays pooled), else a connection
    /// dialed to the first of <paramref name="targets"/> that answers, which goes to the idle pool afterwards (closed
    /// when the pool is off or the peer got another active connection meanwhile). Such a connection counts toward the
    /// limit like any other, and the pool evicts it first when room is needed.
    /// </summary>
    public async Task<T> ExchangeAsync<T>(PeerId peerId, IReadOnlyList<EndPoint> targets, string protocol,
        Func<MuxedStream, P2pConnection, CancellationToken, Task<T>> exchange, CancellationToken cancellationToken)
    {
        Enter(peerId);
        try
        {
            if (!gater.IsAllowed(peerId, GateDirection.Outbound))
                throw new PeerDeniedException(peerId);
            PeerConnection connection;
            bool dialed = false;
            var entry = await activation.EnterGateAsync(peerId, named: false, cancellationToken).ConfigureAwait(false);
            try
            {
                if (entry.Active is { IsOpen: true } active)
                    connection = active;
                else if (pool.Find(peerId) is { Connection.IsOpen: true } pooled)
                    connection = pooled.Connection;
                else
                {
                    connection = await DialFirstAsync(entry, targets, cancellationToken).ConfigureAwait(false);
                    dialed = true;
                    peers.SetStatus(entry, ConnectionStatus.Disconnected, null);
                }
            }
            finally
            {
                entry.Gate.Release();
            }
            try
            {
                await using var stream = await connection.Connection.OpenStreamAsync(protocol, cancellationToken).ConfigureAwait(false);
                return await exchange(stream, connection.Connection, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (dialed)
                    await ReleaseDialedAsync(entry, connection).ConfigureAwait(false);
            }
        }
        finally
        {
            lifetime.Exit();
        }
    }

    /// <summary>Refuses this node's own id, and counts the operation in flight (the caller exits the lifetime).</summary>
    private void Enter(PeerId peerId)
    {
        if (peerId == localPeerId)
            throw new ArgumentException("A node does not connect to itself.", nameof(peerId));
        if (!lifetime.TryEnter())
            throw new ObjectDisposedException(nameof(ConnectionManager));
    }

    private async Task<PeerConnection> DialFirstAsync(PeerEntry entry, IReadOnlyList<EndPoint> targets, CancellationToken cancellationToken)
    {
        if (targets.Count == 0)
            return await DialAsync(entry, entry.RedialTarget() ?? throw new PeerAddressUnknownException(entry.Id), settings().ConnectTimeout, cancellationToken).ConfigureAwait(false);
        for (int i = 0; ; i++)
        {
            try
            {
                return await DialAsync(entry, targets[i], settings().ConnectTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (PeerConnectException) when (i < targets.Count - 1 && !cancellationToken.IsCancellationRequested)
            {
                // The next address.
            }
        }
    }

    /// <summary>
    /// After an exchange on a connection dialed for it: to the idle pool, unless the peer has another by now (an active
    /// one, or a pooled one: two exchanges that overlap each dial, and the first to finish pools its connection).
    /// </summary>
    private async Task ReleaseDialedAsync(PeerEntry entry, PeerConnection connection)
    {
        await entry.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (connection.IsOpen && entry.Active is null && pool.Find(entry.Id) is null
                && settings().PoolTimeout > TimeSpan.Zero && !lifetime.IsDisposed)
            {
                activation.Pool(connection);
                return;
            }
        }
        finally
        {
            entry.Gate.Release();
        }
        await connection.CloseAsync(CloseReason.LocalDisconnect, "a DHT request's connection, not kept").ConfigureAwait(false);
    }

    /// <summary>Dials (through the breaker) and returns the connection, not yet anyone's active one.</summary>
    private async Task<PeerConnection> DialAsync(PeerEntry entry, EndPoint target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // The breaker decides before the host opens a scope, so an open circuit never evicts a pooled connection for nothing.
        var circuit = breaker.For(entry);
        if (circuit is not null && !circuit.TryBeginDial())
            throw breaker.Refused(entry);
        PeerConnection connection;
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.Disposing);
            connection = await HandshakeAsync(entry, target, timeout, linked.Token).ConfigureAwait(false);
        }
        catch (ConnectionLimitReachedException ex) when (!lifetime.IsCancelled)
        {
            // Refused before any socket opened: that says nothing of the peer.
            circuit?.RecordNotDialed();
            metrics.RecordFailure(inbound: false, ConnectFailureKind.LimitReached);
            peers.SetStatus(entry, ConnectionStatus.Failed, ex.Message, close: (CloseReason.Limit, ex.Scope));
            throw;
        }
        catch (Exception ex)
        {
            var kind = lifetime.IsCancelled ? ConnectFailureKind.Cancelled : ConnectFailures.Classify(ex);
            metrics.RecordFailure(inbound: false, kind);
            if (lifetime.IsCancelled)
            {
                peers.SetStatus(entry, ConnectionStatus.Failed, "the manager was disposed");
                throw new ObjectDisposedException(nameof(ConnectionManager), ex);
            }
            if (ex is OperationCanceledException)
            {
                // The caller gave up (Ctrl+C, its own token): that says nothing of the peer. A connect that ran out of
                // time is not this: the deadline is the manager's own, and it fails as a Timeout below.
                circuit?.RecordCancelled();
                peers.SetStatus(entry, ConnectionStatus.Disconnected, "the connect was cancelled");
                throw;
            }
            if (ex is PeerDeniedException)
            {
                // A gater's refusal says nothing of the peer either.
                circuit?.RecordNotDialed();
                peers.SetStatus(entry, ConnectionStatus.Disconnected, "refused by the connection gater", close: (CloseReason.Gated, null));
                throw;
            }
            breaker.RecordFailure(entry, circuit);
            peers.SetStatus(entry, ConnectionStatus.Failed, ex.Message, close: DialRefusal(ex));
            throw;
        }
        DialBreaker.RecordSuccess(entry, circuit);
        if (lifetime.IsDisposed)
        {
            await connection.CloseAsync(CloseReason.Shutdown, "the manager was disposed").ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(ConnectionManager));
        }
        // The gater may have changed while the handshake ran; a rule change only sees established connections.
        if (!gater.IsAllowed(entry.Id, GateDirection.Outbound))
        {
            await connection.CloseAsync(CloseReason.Gated, "refused by the connection gater").ConfigureAwait(false);
            metrics.RecordFailure(inbound: false, ConnectFailureKind.Denied);
            metrics.RecordDenied(inbound: false);
            peers.SetStatus(entry, ConnectionStatus.Disconnected, "refused by the connection gater");
            throw new PeerDeniedException(entry.Id);
        }
        return connection;
    }

    /// <summary>
    /// The close reason of a dial whose connection was cut before it was established: the remote proved another identity,
    /// or a resource scope refused it (named). Other failures (unreachable, timeout, ...) are not closes: null.
    /// </summary>
    private static (CloseReason, string?)? DialRefusal(Exception ex) => ex switch
    {
        PeerIdentityMismatchException => (CloseReason.IdentityMismatch, null),
        { InnerException: ResourceLimitExceededException limit } => (CloseReason.Limit, limit.ScopeLabel),
        _ => null,
    };

    /// <summary>Dials through the libp2p host, and once more if the first connection closed before it came back.</summary>
    private async Task<PeerConnection> HandshakeAsync(PeerEntry entry, EndPoint target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (await HandshakeOnceAsync(entry, target, timeout, cancellationToken).ConfigureAwait(false) is { } first)
            return first;
        // The remote closed the connection as soon as it was up: it may have dropped it as a duplicate of one it was
        // still closing, or as the loser of a simultaneous dial. It did answer, so dial once more. The closed one gave its
        // scope back before the manager heard of its close, so at the limit the new dial finds its room.
        if (await HandshakeOnceAsync(entry, target, timeout, cancellationToken).ConfigureAwait(false) is { } second)
            return second;
        throw new PeerConnectException($"The connection to {target} closed right after its handshake.", entry.Id, target, ConnectFailureKind.Closed);
    }

    /// <summary>One dial through the libp2p host; maps its failures to the manager's typed connect errors. Null: it closed already.</summary>
    private async Task<PeerConnection?> HandshakeOnceAsync(PeerEntry entry, EndPoint target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        peers.SetStatus(entry, ConnectionStatus.Connecting, null);
        P2pConnection connection;
        try
        {
            connection = await host.DialAsync(target, entry.Id, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (PeerIdMismatchException ex)
        {
            throw new PeerIdentityMismatchException(entry.Id, ex.Actual, target);
        }
        catch (ResourceLimitExceededException ex) when (ex.Scope == ResourceScopeKind.System)
        {
            // MaxConnections (the system scope's limit): the seed's typed error, refused before any socket opened.
            throw new ConnectionLimitReachedException(ex, entry.Id);
        }
        catch (ConnectionGatedException) when (!gater.IsAllowed(entry.Id, GateDirection.Outbound))
        {
            // Denied while the handshake ran: the same refusal as one before the dial, not a failure of the peer.
            metrics.RecordDenied(inbound: false);
            throw new PeerDeniedException(entry.Id);
        }
        catch (Exception ex) when (ex is P2pException or TimeoutException or IOException or System.Net.Sockets.SocketException
            or System.Security.Authentication.AuthenticationException)
        {
            var kind = ConnectFailures.Classify(ex);
            throw new PeerConnectException(DescribeFailure(kind, target, timeout, ex), entry.Id, target, kind, ex);
        }
        return live.Find(connection);
    }

    /// <summary>What a failed dial tells the user, by its kind (the kind itself is <see cref="ConnectFailures.Classify"/>'s).</summary>
    private static string DescribeFailure(ConnectFailureKind kind, EndPoint target, TimeSpan timeout, Exception ex) => kind switch
    {
        ConnectFailureKind.Timeout => $"No connection to {target} within the connect timeout ({timeout.TotalSeconds:0.###} s): {ex.Message}",
        ConnectFailureKind.Unreachable => ex.Message,
        ConnectFailureKind.Protocol when ex is UpgradeNegotiationException => ex.Message, // names the remote itself
        ConnectFailureKind.Protocol => $"{target} speaks no security protocol or muxer of ours: {ex.Message}",
        ConnectFailureKind.Authentication => $"The libp2p handshake with {target} failed: {ex.Message}",
        ConnectFailureKind.Closed => $"The connection to {target} closed during the handshake: {ex.Message}",
        ConnectFailureKind.LimitReached => ex.Message, // names the scope and the limit
        _ => $"Connecting to {target} failed: {ex.Message}",
    };

    Task IRedialer.ConnectAsync(PeerId peerId, CancellationToken cancellationToken) => ConnectAsync(peerId, null, named: false, timeout: null, cancellationToken);

    bool IRedialer.IsConnected(PeerId peerId) => activation.IsConnected(peerId);

    bool IRedialer.CanRedial(PeerId peerId) => peers.TryGet(peerId, out var entry) && entry.RedialTarget() is not null;
}
