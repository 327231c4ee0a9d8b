using System.Collections.Concurrent;
using System.Net;
using QuDag.P2p;
using QuDag.P2p.Host;
using QuDag.P2p.Muxing;
using QuDag.P2p.Transport.Tcp;
using QuDag.P2p.Upgrade;

namespace QuDag.Network;

// A PeerId's way from the cmdlet to the socket (outbound; an inbound connection joins at 7, then 4):
//  1. ConnectQuDagPeerCommand.ProcessRecord (src/QuDag.PowerShell/Commands/ConnectQuDagPeerCommand.cs) binds -Address
//     (multiaddr or host:port) and -PeerId, and calls CurrentSession.Manager.ConnectAsync under a deadline.
//  2. QuDagSession.Manager (src/QuDag.PowerShell/QuDagSession.cs): the runspace's node, one ConnectionManager.
//  3. ConnectionManager.ConnectAsync(PeerId[, EndPoint]) (src/QuDag.Network/ConnectionManager.cs) hands it here.
//  4. Dialer.ConnectAsync (this file): the gater, the peer's PeerEntry in the PeerTable (Peers/PeerTable.cs) and its
//     gate; an open active connection returns at once, a live pooled one (Pool/IdlePool.cs) is reused as is.
//  5. Dialer.DialAsync: an open circuit (Policy/PeerCircuit.cs) refuses fast; ConnectionLimiter.ReserveAsync
//     (Pool/ConnectionLimiter.cs) takes a slot, evicting the longest-idle pooled connection at the limit (with
//     TrimAtLimit, then trimming one through Policy/ConnectionTrimmer.cs).
//  6. Dialer.DialThroughBreakerAsync -> Dialer.HandshakeAsync -> P2pHost.DialAsync (src/QuDag.P2p/Host/P2pHost.cs);
//     HandshakeAsync maps the stack's errors to the manager's typed ones. The host opens the connection's resource
//     scope (src/QuDag.P2p/Resources/ResourceManager.cs: process memory bound, transient scope) before any socket.
//  7. Upgrader.UpgradeOutboundAsync (src/QuDag.P2p/Upgrade/Upgrader.cs): multistream-select, Noise or TLS (the
//     remote's PeerId must be the one dialed), the scope moves to the peer's and the system scope
//     (ConnectionScope.SetPeerAsync), yamux. The host raises ConnectionOpened: OnHostConnectionOpened
//     wraps it in a PeerConnection (Dialing/PeerConnection.cs); inbound ones go on to AcceptAsync/AdoptInboundAsync.
//  8. TcpTransport.DialAsync (src/QuDag.P2p/Transport/Tcp/TcpTransport.cs): the socket, under P2pHost's dial timeout.
// Back in 5, Dialer.Activate makes the connection the peer's active one: status Connected, through the PeerTable.

/// <summary>
/// Dials, accepts and adopts connections with the libp2p host, and keeps each peer to at most one live connection
/// (a simultaneous dial keeps the one both sides agree on). Uses the parts below it, which never use each other:
/// the peer table, the idle pool and the limiter, the gater, circuit, reconnect and keepalive policies, and the metrics.
/// </summary>
internal sealed class Dialer : IConnectionOwner, IRedialer
{
    private readonly Func<ConnectionManagerOptions> _settings; // the manager's current settings, read on every use
    private readonly TimeProvider _time;
    private readonly PeerId _localPeerId;
    private readonly P2pHost _host;
    private readonly ManagerMetrics _metrics;
    private readonly Inbox _inbox;
    private readonly ConnectionGater _gater; // captured: replacing Options.Gater later must not leave a handler behind
    private readonly ConcurrentDictionary<P2pConnection, PeerConnection> _wrappers = new();
    private readonly ConcurrentDictionary<PeerConnection, byte> _connections = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly DepartedPeers _departed;
    private int _active;    // connections set as some peer's Active
    private int _busy = 1;  // operations in flight, plus one for the dialer itself until it is disposed
    private int _disposed;

    public Dialer(Func<ConnectionManagerOptions> settings, PeerId localPeerId, P2pHost host, PeerTable<PeerEntry> peers, ManagerMetrics metrics, Inbox inbox)
    {
        _settings = settings;
        var options = settings();
        _time = options.TimeProvider;
        _localPeerId = localPeerId;
        _host = host;
        _metrics = metrics;
        _inbox = inbox;
        Peers = peers;
        _gater = options.Gater;
        Pool = new IdlePool<PeerConnection>(options.PoolTimeout > TimeSpan.Zero ? options.PoolTimeout : TimeSpan.FromSeconds(1), _time, OnPoolExpired);
        Limiter = new ConnectionLimiter(options.MaxConnections, EvictLongestIdleAsync);
        KeepAlive = new KeepAliveMonitor(options.KeepAliveInterval, options.KeepAliveTimeout, _time, () => _connections.Keys,
            metrics.RecordKeepAliveFailure);
        Reconnector = new Reconnector(settings, this, metrics.RecordReconnectAttempt, metrics.RecordReconnect);
        Trimmer = new ConnectionTrimmer(() => TrimSettingsOf(_settings()), _time, () => (IReadOnlyCollection<ITrimTarget>)_connections.Keys);
        _departed = new DepartedPeers(options.MaxDisconnectedInboundPeers, TryForget);
        _gater.Changed += OnGaterChanged;
        _host.ConnectionOpened += OnHostConnectionOpened;
        _host.SetStreamHandler(PeerConnection.MessageProtocol, ServeMessagesAsync);
    }

    public PeerTable<PeerEntry> Peers { get; }

    /// <summary>The gater captured at construction (the one the manager enforces).</summary>
    public ConnectionGater Gater => _gater;

    public IdlePool<PeerConnection> Pool { get; }

    public ConnectionLimiter Limiter { get; }

    public KeepAliveMonitor KeepAlive { get; }

    public Reconnector Reconnector { get; }

    /// <summary>The watermarks, protections and tags: closes the lowest-value connections above the high watermark.</summary>
    public ConnectionTrimmer Trimmer { get; }

    private static TrimSettings TrimSettingsOf(ConnectionManagerOptions o) => new(o.LowWater, o.HighWater, o.GracePeriod, o.SilencePeriod);

    /// <summary>Connections set as some peer's active one.</summary>
    public int ActiveCount => Volatile.Read(ref _active);

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Counts an operation in flight, so disposal waits for it; false once disposal began.</summary>
    public bool TryEnter()
    {
        while (true)
        {
            var busy = Volatile.Read(ref _busy);
            if (busy == 0 || IsDisposed)
                return false;
            if (Interlocked.CompareExchange(ref _busy, busy + 1, busy) == busy)
                return true;
        }
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _busy) == 0)
            _drained.TrySetResult();
    }

    /// <summary>The peer's open active connection.</summary>
    /// <exception cref="PeerNotConnectedException">It has none.</exception>
    public PeerConnection ActiveConnection(PeerId peerId) =>
        Peers.TryGet(peerId, out var entry) && Volatile.Read(ref entry.Active) is { IsOpen: true } connection
            ? connection
            : throw new PeerNotConnectedException(peerId);

    /// <summary>
    /// Connects to a peer (see ConnectionManager.ConnectAsync); <paramref name="endPoint"/> also goes into the address
    /// book. <paramref name="named"/>: the API named the peer (a caller's connect, not a reconnect), so the table keeps it.
    /// <paramref name="timeout"/> bounds a dial (TCP and upgrade together); the settings' connect timeout when null.
    /// </summary>
    public async Task ConnectAsync(PeerId peerId, EndPoint? endPoint, bool named, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (peerId == _localPeerId)
            throw new ArgumentException("A node does not connect to itself.", nameof(peerId));
        if (!TryEnter())
            throw new ObjectDisposedException(nameof(ConnectionManager));
        try
        {
            if (!_gater.IsAllowed(peerId, GateDirection.Outbound))
            {
                _metrics.RecordFailure(inbound: false, ConnectFailureKind.Denied);
                _metrics.RecordDenied(inbound: false);
                throw new PeerDeniedException(peerId);
            }
            var entry = await EnterGateAsync(peerId, named, cancellationToken).ConfigureAwait(false);
            try
            {
                if (endPoint is not null)
                    entry.EndPoint = endPoint;
                var current = Volatile.Read(ref entry.Active);
                if (current is { IsOpen: true })
                    return;
                if (current is not null)
                    TryDeactivate(entry, current, current.CloseInfo);
                if (Pool.TryTake(peerId) is { } pooled)
                {
                    if (pooled.IsOpen)
                    {
                        _metrics.RecordPoolHit();
                        Activate(entry, pooled);
                        return;
                    }
                    // It closed while pooled; its own close releases the socket slot.
                }
                _metrics.RecordPoolMiss();
                var target = RedialTarget(entry) ?? throw new PeerAddressUnknownException(peerId);
                Activate(entry, await DialAsync(entry, target, timeout ?? _settings().ConnectTimeout, cancellationToken).ConfigureAwait(false));
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

    /// <summary>The peer's entry with its gate taken; one forgotten while we waited is looked up afresh.</summary>
    private async Task<PeerEntry> EnterGateAsync(PeerId peerId, bool named, CancellationToken cancellationToken)
    {
        while (true)
        {
            var entry = named ? Peers.GetOrAddNamed(peerId) : Peers.GetOrAdd(peerId);
            await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!entry.IsForgotten)
                return entry;
            entry.Gate.Release();
        }
    }

    /// <summary>Dials (through the breaker, under a slot) and returns the connection, not yet anyone's active one.</summary>
    private async Task<PeerConnection> DialAsync(PeerEntry entry, EndPoint target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // The breaker decides before a slot is taken, so an open circuit never evicts a pooled connection for nothing.
        var circuit = CircuitFor(entry);
        if (circuit is not null && !circuit.TryBeginDial())
            throw CircuitOpen(entry);
        try
        {
            await ReserveOrTrimAsync(entry.Id).ConfigureAwait(false);
        }
        catch (ConnectionLimitReachedException ex)
        {
            circuit?.RecordNotDialed();
            _metrics.RecordFailure(inbound: false, ConnectFailureKind.LimitReached);
            Peers.SetStatus(entry, ConnectionStatus.Failed, ex.Message, close: (CloseReason.Limit, LimitScope));
            throw;
        }
        PeerConnection connection;
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
            connection = await HandshakeAsync(entry, target, timeout, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A connection that closed right after its handshake held the slot, and its close gave it back.
            if (ex is not ClosedAfterHandshakeException)
                Limiter.Release();
            var kind = _disposing.IsCancellationRequested ? ConnectFailureKind.Cancelled : ConnectFailures.Classify(ex);
            _metrics.RecordFailure(inbound: false, kind);
            if (_disposing.IsCancellationRequested)
            {
                Peers.SetStatus(entry, ConnectionStatus.Failed, "the manager was disposed");
                throw new ObjectDisposedException(nameof(ConnectionManager), ex);
            }
            if (ex is OperationCanceledException)
            {
                // The caller gave up (Ctrl+C, its own token): that says nothing of the peer. A connect that ran out of
                // time is not this: the deadline is the manager's own, and it fails as a Timeout below.
                circuit?.RecordCancelled();
                Peers.SetStatus(entry, ConnectionStatus.Disconnected, "the connect was cancelled");
                throw;
            }
            if (ex is PeerDeniedException)
            {
                // A gater's refusal says nothing of the peer either.
                circuit?.RecordNotDialed();
                Peers.SetStatus(entry, ConnectionStatus.Disconnected, "refused by the connection gater", close: (CloseReason.Gated, null));
                throw;
            }
            RecordDialFailure(entry, circuit);
            Peers.SetStatus(entry, ConnectionStatus.Failed, ex.Message, close: DialRefusal(ex));
            throw;
        }
        circuit?.RecordSuccess();
        DropClosedCircuit(entry);
        if (IsDisposed)
        {
            await connection.CloseAsync(CloseReason.Shutdown, "the manager was disposed").ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(ConnectionManager));
        }
        // The gater may have changed while the handshake ran; a rule change only sees established connections.
        if (!_gater.IsAllowed(entry.Id, GateDirection.Outbound))
        {
            await connection.CloseAsync(CloseReason.Gated, "refused by the connection gater").ConfigureAwait(false);
            _metrics.RecordFailure(inbound: false, ConnectFailureKind.Denied);
            _metrics.RecordDenied(inbound: false);
            Peers.SetStatus(entry, ConnectionStatus.Disconnected, "refused by the connection gater");
            throw new PeerDeniedException(entry.Id);
        }
        return connection;
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
        if (peerId == _localPeerId)
            throw new ArgumentException("A node does not connect to itself.", nameof(peerId));
        if (!TryEnter())
            throw new ObjectDisposedException(nameof(ConnectionManager));
        try
        {
            if (!_gater.IsAllowed(peerId, GateDirection.Outbound))
                throw new PeerDeniedException(peerId);
            PeerConnection connection;
            bool dialed = false;
            var entry = await EnterGateAsync(peerId, named: false, cancellationToken).ConfigureAwait(false);
            try
            {
                if (Volatile.Read(ref entry.Active) is { IsOpen: true } active)
                    connection = active;
                else if (Pool.Find(peerId) is { Connection.IsOpen: true } pooled)
                    connection = pooled.Connection;
                else
                {
                    connection = await DialFirstAsync(entry, targets, cancellationToken).ConfigureAwait(false);
                    dialed = true;
                    Peers.SetStatus(entry, ConnectionStatus.Disconnected, null);
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
            Exit();
        }
    }

    private async Task<PeerConnection> DialFirstAsync(PeerEntry entry, IReadOnlyList<EndPoint> targets, CancellationToken cancellationToken)
    {
        if (targets.Count == 0)
            return await DialAsync(entry, RedialTarget(entry) ?? throw new PeerAddressUnknownException(entry.Id), _settings().ConnectTimeout, cancellationToken).ConfigureAwait(false);
        for (int i = 0; ; i++)
        {
            try
            {
                return await DialAsync(entry, targets[i], _settings().ConnectTimeout, cancellationToken).ConfigureAwait(false);
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
            if (connection.IsOpen && Volatile.Read(ref entry.Active) is null && Pool.Find(entry.Id) is null
                && _settings().PoolTimeout > TimeSpan.Zero && !IsDisposed)
            {
                Pool.Add(connection);
                if (!connection.IsOpen)
                    Pool.Forget(connection);
                return;
            }
        }
        finally
        {
            entry.Gate.Release();
        }
        await connection.CloseAsync(CloseReason.LocalDisconnect, "a DHT request's connection, not kept").ConfigureAwait(false);
    }

    /// <summary>
    /// Takes a slot (evicting the longest-idle pooled connection at the limit); with <c>TrimAtLimit</c>, at the limit with
    /// nothing idle, the lowest-value unprotected connection past its grace period is trimmed once to make room.
    /// </summary>
    private async ValueTask ReserveOrTrimAsync(PeerId peerId)
    {
        try
        {
            await Limiter.ReserveAsync(peerId).ConfigureAwait(false);
            return;
        }
        catch (ConnectionLimitReachedException) when (_settings().TrimAtLimit)
        {
        }
        if (!await Trimmer.TrimOneAsync().ConfigureAwait(false))
            throw new ConnectionLimitReachedException(Limiter.Max, peerId);
        await Limiter.ReserveAsync(peerId).ConfigureAwait(false);
    }

    /// <summary>
    /// The close reason of a dial whose connection was cut before it was established: the remote proved another identity,
    /// or a resource scope refused it (named). Other failures (unreachable, timeout, ...) are not closes: null.
    /// </summary>
    private static (CloseReason, string?)? DialRefusal(Exception ex) => ex switch
    {
        PeerIdentityMismatchException => (CloseReason.IdentityMismatch, null),
        { InnerException: QuDag.P2p.Resources.ResourceLimitExceededException limit } => (CloseReason.Limit, limit.ScopeLabel),
        _ => null,
    };

    /// <summary>Counts a connect the open circuit refused and describes it.</summary>
    private PeerCircuitOpenException CircuitOpen(PeerEntry entry)
    {
        _metrics.RecordFailure(inbound: false, ConnectFailureKind.CircuitOpen);
        _metrics.RecordCircuitRejection();
        // The status stays Failed and the last error stays the real cause; the breaker only says "not now".
        Peers.SetStatus(entry, ConnectionStatus.Failed, null);
        return new PeerCircuitOpenException(entry.Id, entry.Circuit?.OpenUntil);
    }

    /// <summary>
    /// The peer's circuit breaker, or null when it has none (healthy) or the breaker is off. A peer gets a breaker at its
    /// first failed dial and loses it at the next success: a healthy peer, the common case, carries none, and the
    /// manager may track tens of thousands of peers. Runs under the peer's gate, one dial at a time.
    /// </summary>
    private PeerCircuit? CircuitFor(PeerEntry entry)
    {
        if (_settings().CircuitBreakerFailureThreshold > 0)
            return Volatile.Read(ref entry.Circuit);
        // Turned off while the peer had a breaker: it stops counting as open, and goes.
        Volatile.Read(ref entry.Circuit)?.Reset();
        Volatile.Write(ref entry.Circuit, null);
        return null;
    }

    /// <summary>Counts a failed dial in the peer's breaker, making the breaker at the first failure.</summary>
    private void RecordDialFailure(PeerEntry entry, PeerCircuit? circuit)
    {
        if (_settings().CircuitBreakerFailureThreshold == 0)
            return;
        if (circuit is null)
        {
            circuit = new PeerCircuit(BreakerSettings, _time, state => OnCircuitChanged(entry, state));
            Volatile.Write(ref entry.Circuit, circuit);
        }
        circuit.RecordFailure();
    }

    private (int Threshold, TimeSpan BreakDuration) BreakerSettings()
    {
        var settings = _settings();
        return (settings.CircuitBreakerFailureThreshold, settings.CircuitBreakerBreakDuration);
    }

    private static void DropClosedCircuit(PeerEntry entry)
    {
        if (Volatile.Read(ref entry.Circuit) is { State: CircuitState.Closed } circuit)
            Interlocked.CompareExchange(ref entry.Circuit, null, circuit);
    }

    private void OnCircuitChanged(PeerEntry entry, CircuitState state)
    {
        // Open and half-open both count as "not healthy"; closed leaves the count.
        var wasOpen = Interlocked.Exchange(ref entry.CircuitCounted, state == CircuitState.Closed ? 0 : 1);
        var isOpen = state == CircuitState.Closed ? 0 : 1;
        if (wasOpen != isOpen)
            _metrics.RecordOpenCircuits(isOpen - wasOpen);
    }

    /// <summary>Dials through the libp2p host; maps its failures to the manager's typed connect errors.</summary>
    private async Task<PeerConnection> HandshakeAsync(PeerEntry entry, EndPoint target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await HandshakeOnceAsync(entry, target, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (ClosedAfterHandshakeException closed)
        {
            // The remote closed the connection as soon as it was up: it may have dropped it as a duplicate of one it
            // was still closing, or as the loser of a simultaneous dial. It did answer, so dial once more, on a slot
            // taken again (the closed connection's close gave the dial's slot back).
            try
            {
                await Limiter.ReserveAsync(entry.Id).ConfigureAwait(false);
            }
            catch (ConnectionLimitReachedException)
            {
                throw closed; // holds no slot: the caller releases none
            }
            return await HandshakeOnceAsync(entry, target, timeout, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<PeerConnection> HandshakeOnceAsync(PeerEntry entry, EndPoint target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Peers.SetStatus(entry, ConnectionStatus.Connecting, null);
        P2pConnection connection;
        try
        {
            connection = await _host.DialAsync(target, entry.Id, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (PeerIdMismatchException ex)
        {
            throw new PeerIdentityMismatchException(entry.Id, ex.Actual, target);
        }
        catch (ConnectionGatedException) when (!_gater.IsAllowed(entry.Id, GateDirection.Outbound))
        {
            // Denied while the handshake ran: the same refusal as one before the dial, not a failure of the peer.
            _metrics.RecordDenied(inbound: false);
            throw new PeerDeniedException(entry.Id);
        }
        catch (Exception ex) when (ex is P2pException or TimeoutException or IOException or System.Net.Sockets.SocketException
            or System.Security.Authentication.AuthenticationException)
        {
            var kind = ConnectFailures.Classify(ex);
            throw new PeerConnectException(DescribeFailure(kind, target, timeout, ex), entry.Id, target, kind, ex);
        }
        return _wrappers.TryGetValue(connection, out var wrapper)
            ? wrapper
            : throw new ClosedAfterHandshakeException(entry.Id, target);
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

    /// <summary>
    /// The host upgraded a connection. Outbound ones belong to the dial that asked for them and already hold a
    /// slot; inbound ones must find a slot, or are closed. Runs before the host serves any of its streams.
    /// </summary>
    private void OnHostConnectionOpened(P2pConnection connection)
    {
        var wrapper = new PeerConnection(this, _host, connection, _settings());
        _wrappers[connection] = wrapper;
        if (connection.Direction == Direction.Outbound)
            wrapper.TryHoldSlot();
        wrapper.Start();
        if (_settings().IdentifyPeers)
            _ = RememberIdentifyAsync(connection);
        if (connection.Direction == Direction.Inbound)
            _ = AcceptAsync(wrapper);
    }

    /// <summary>Raised when a connected peer has said who it is (identify), with the IP of its connection.</summary>
    public event Action<PeerId, QuDag.P2p.Protocols.Identify.IdentifyMessage, IPAddress?>? Identified;

    /// <summary>Keeps what the peer said of itself (agent, protocols, listen addresses) past its connection.</summary>
    private async Task RememberIdentifyAsync(P2pConnection connection)
    {
        try
        {
            var identify = await _host.IdentifyAsync(connection).ConfigureAwait(false);
            if (IsDisposed)
                return;
            var entry = Peers.GetOrAdd(connection.RemotePeer);
            Volatile.Write(ref entry.Identify, identify);
            if (connection.RemoteEndPoint is IPEndPoint ip)
                entry.SeenAt = ip.Address;
            Identified?.Invoke(connection.RemotePeer, identify, (connection.RemoteEndPoint as IPEndPoint)?.Address);
            // Closed already: its close may have passed before this entry existed, so queue it as that close would.
            if (!connection.IsOpen)
                _departed.Add(entry);
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
            await connection.AbortAsync(CloseReason.Shutdown, "the manager was disposed").ConfigureAwait(false);
            return;
        }
        try
        {
            try
            {
                await Limiter.ReserveAsync(null).ConfigureAwait(false);
            }
            catch (ConnectionLimitReachedException)
            {
                _metrics.RecordFailure(inbound: true, ConnectFailureKind.LimitReached);
                await connection.AbortAsync(CloseReason.Limit, "refused: the connection limit is reached", LimitScope).ConfigureAwait(false);
                return;
            }
            if (!connection.TryHoldSlot())
            {
                Limiter.Release(); // it closed while we waited for the slot
                return;
            }
            if (connection.RemoteId == _localPeerId || IsDisposed)
            {
                await connection.CloseAsync(IsDisposed ? CloseReason.Shutdown : CloseReason.LocalDisconnect, IsDisposed ? "the manager was disposed" : "a node does not connect to itself").ConfigureAwait(false);
                return;
            }
            var entry = await EnterGateAsync(connection.RemoteId, named: false, CancellationToken.None).ConfigureAwait(false);
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
            _metrics.RecordDenied(inbound: true);
            await connection.CloseAsync(CloseReason.Gated, "refused by the connection gater").ConfigureAwait(false);
            return;
        }
        var existing = Volatile.Read(ref entry.Active);
        if (existing is { IsOpen: true })
        {
            var keepExisting = !existing.Inbound && PeerIdOrder.Compare(_localPeerId, entry.Id) < 0;
            if (keepExisting)
            {
                await connection.CloseAsync(CloseReason.LocalDisconnect, "duplicate: the peer with the lower id dials").ConfigureAwait(false);
                return;
            }
            // Swap in place: the active count stays, and the old connection's close finds itself replaced.
            entry.LastConnection = new ConnectionSummary(connection.RemoteEndPoint, connection.Inbound, connection.Connection.Security,
                connection.Connection.Muxer);
            Volatile.Write(ref entry.Active, connection);
            await existing.CloseAsync(CloseReason.LocalDisconnect, "replaced by a newer connection from the same peer").ConfigureAwait(false);
            if (!connection.IsOpen)
                TryDeactivate(entry, connection, connection.CloseInfo);
            return;
        }
        if (existing is not null)
            TryDeactivate(entry, existing, existing.CloseInfo);
        if (Pool.TryTake(entry.Id) is { } pooled)
            await pooled.CloseAsync(CloseReason.LocalDisconnect, "replaced by a newer connection from the same peer").ConfigureAwait(false);
        Activate(entry, connection);
    }

    /// <summary>Disconnects a peer: to the idle pool, or with <paramref name="close"/> closed (and any pooled one too).</summary>
    public async Task DisconnectAsync(PeerId peerId, bool close, CancellationToken cancellationToken)
    {
        if (!Peers.TryGet(peerId, out var entry))
            return;
        if (!TryEnter())
            throw new ObjectDisposedException(nameof(ConnectionManager));
        try
        {
            Reconnector.Stop(entry.Reconnect);
            await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var connection = Volatile.Read(ref entry.Active);
                var released = connection is not null && TryDeactivate(entry, connection, null);
                // The connection may have been lost between the first stop and the deactivation, and its close may have
                // started a reconnect: this disconnect is on purpose, so stop that one too.
                Reconnector.Stop(entry.Reconnect);
                var pooling = released && connection!.IsOpen && !close && _settings().PoolTimeout > TimeSpan.Zero;
                var closing = released ? !pooling : close && Pool.Find(peerId) is not null;
                // The status change says the close's reason; the closes below are then not logged a second time.
                if (entry.Status is not null)
                    Peers.SetStatus(entry, ConnectionStatus.Disconnected, null, close: closing ? (CloseReason.LocalDisconnect, null) : null);
                if (pooling)
                {
                    Pool.Add(connection!);
                    if (!connection!.IsOpen)
                        Pool.Forget(connection);
                    return;
                }
                if (released)
                {
                    connection!.MarkCloseReported();
                    await connection.CloseAsync(CloseReason.LocalDisconnect, "disconnected").ConfigureAwait(false);
                }
                if (close && Pool.TryTake(peerId) is { } pooled)
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
            Exit();
        }
    }

    /// <summary>Makes <paramref name="connection"/> the peer's active one; undoes it if the connection closed meanwhile.</summary>
    private void Activate(PeerEntry entry, PeerConnection connection)
    {
        entry.LastConnection = new ConnectionSummary(connection.RemoteEndPoint, connection.Inbound, connection.Connection.Security,
            connection.Connection.Muxer);
        Volatile.Write(ref entry.Active, connection);
        Interlocked.Increment(ref _active);
        entry.LastError = null;
        Peers.SetStatus(entry, ConnectionStatus.Connected, null);
        if (!connection.IsOpen)
            TryDeactivate(entry, connection, connection.CloseInfo);
        // Its close may have run between the write above and Connected: that close deactivated it and set its
        // status first, and Connected then overwrote it. The close's status stands.
        if (!ReferenceEquals(Volatile.Read(ref entry.Active), connection) && connection.CloseInfo is { } closed
            && entry.Status == ConnectionStatus.Connected)
        {
            Peers.SetStatus(entry, closed.Failed ? ConnectionStatus.Failed : ConnectionStatus.Disconnected, closed.Reason, close: (closed.Code, closed.Scope));
        }
    }

    /// <summary>The connection closed between its handshake and its adoption; its own close released its slot.</summary>
    private sealed class ClosedAfterHandshakeException(PeerId peer, EndPoint target)
        : PeerConnectException($"The connection to {target} closed right after its handshake.", peer, target, ConnectFailureKind.Closed);

    /// <summary>Clears the peer's active connection if it is still <paramref name="connection"/>; one caller wins.</summary>
    private bool TryDeactivate(PeerEntry entry, PeerConnection connection, CloseInfo? info)
    {
        if (Interlocked.CompareExchange(ref entry.Active, null, connection) != connection)
            return false;
        Interlocked.Decrement(ref _active);
        if (info is { } i)
            Peers.SetStatus(entry, i.Failed ? ConnectionStatus.Failed : ConnectionStatus.Disconnected, i.Reason, close: (i.Code, i.Scope));
        return true;
    }

    /// <summary>
    /// Where to redial a peer: its address-book endpoint, else (a peer known only from its inbound connection) the
    /// first TCP listen address its identify announced, preferring one on the address it was seen at.
    /// </summary>
    private static EndPoint? RedialTarget(PeerEntry entry)
    {
        if (entry.EndPoint is { } known)
            return known;
        if (Volatile.Read(ref entry.Identify) is not { } identify)
            return null;
        EndPoint? first = null;
        foreach (var bytes in identify.ListenAddrs)
        {
            if (!Multiaddr.TryFromBytes(bytes, out var address) || !address.TryGetEndPoint(out var endPoint))
                continue;
            if (endPoint is IPEndPoint ip && entry.SeenAt is IPAddress seen && ip.Address.Equals(seen))
                return endPoint;
            first ??= endPoint;
        }
        return first;
    }

    Task IRedialer.ConnectAsync(PeerId peerId, CancellationToken cancellationToken) => ConnectAsync(peerId, null, named: false, timeout: null, cancellationToken);

    bool IRedialer.IsConnected(PeerId peerId) => Peers.TryGet(peerId, out var entry) && Volatile.Read(ref entry.Active) is { IsOpen: true };

    bool IRedialer.CanRedial(PeerId peerId) => Peers.TryGet(peerId, out var entry) && RedialTarget(entry) is not null;

    void IConnectionOwner.OnOpened(PeerConnection connection)
    {
        _connections.TryAdd(connection, 0);
        _metrics.RecordHandshake(connection.HandshakeTime, connection.Inbound);
        Trimmer.OnConnectionOpened(connection, _connections.Count);
    }

    void IConnectionOwner.OnClosed(PeerConnection connection, CloseInfo info)
    {
        _connections.TryRemove(connection, out _);
        _wrappers.TryRemove(connection.Connection, out _);
        var lost = false;
        _metrics.RecordClose(info.Code);
        if (Peers.TryGet(connection.RemoteId, out var entry))
        {
            if (TryDeactivate(entry, connection, info))
            {
                lost = !info.Deliberate; // lost (remote close, fault, keepalive), not closed by this node
            }
            else
            {
                Pool.Forget(connection);
                if (!connection.CloseReported) // a pooled one expired, was evicted or trimmed; a replaced duplicate
                    Peers.RecordClose(entry, info.Reason, info.Code, info.Scope);
            }
        }
        // The slot is free before a reconnect asks for one: at the limit, it needs exactly this one.
        if (connection.ReleaseSlot())
            Limiter.Release();
        if (lost)
            Reconnector.Start(entry!.Id, entry.Reconnect);
        if (entry is not null)
            _departed.Add(entry);
    }

    /// <summary>Peers known only from their inbound connections that are gone and not forgotten yet (for tests).</summary>
    internal int DepartedCount => _departed.Count;

    /// <summary>Forgets a departed peer never named through the API, unless it is connected, pooled or in use again.</summary>
    private ForgetOutcome TryForget(PeerEntry entry)
    {
        if (entry.IsNamed || entry.IsForgotten)
            return ForgetOutcome.Kept;
        // Under its gate: a connect or an accept of this peer either finished before (and is seen below) or finds the
        // entry forgotten after, and looks the peer up afresh.
        if (!entry.Gate.Wait(0))
            return ForgetOutcome.Busy;
        try
        {
            if (entry.Reconnect.Running)
                return ForgetOutcome.Busy;
            if (Volatile.Read(ref entry.Active) is not null || Pool.Find(entry.Id) is not null || entry.EndPoint is not null)
                return ForgetOutcome.Kept;
            return Peers.TryForget(entry) ? ForgetOutcome.Forgotten : ForgetOutcome.Kept;
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    ValueTask IConnectionOwner.OnDataAsync(PeerConnection connection, byte[] payload, DateTimeOffset receivedAt, CancellationToken cancellationToken)
        => _inbox.EnqueueAsync(new PeerMessage(connection.RemoteId, payload, receivedAt), cancellationToken);

    void IConnectionOwner.OnPingRoundTrip(PeerConnection connection, TimeSpan roundTrip)
    {
        _metrics.RecordPing(roundTrip);
        if (Peers.TryGet(connection.RemoteId, out var entry))
        {
            Volatile.Write(ref entry.LastRoundTripTicks, Math.Max(roundTrip.Ticks, 1));
            var history = Volatile.Read(ref entry.RoundTrips);
            if (history is null)
            {
                var created = new RoundTripHistory();
                history = Interlocked.CompareExchange(ref entry.RoundTrips, created, null) ?? created;
            }
            history.Add(new RoundTripSample(_time.GetUtcNow(), roundTrip));
        }
    }

    /// <summary>The scope a close at the connection limit names: MaxConnections is the system scope's established limit.</summary>
    private const string LimitScope = "system";

    /// <summary>Closes the pooled connection idle longest, to make room under the limit; its close frees its slot.</summary>
    public async ValueTask<bool> EvictLongestIdleAsync()
    {
        if (Pool.TryTakeOldest() is not { } victim)
            return false;
        await victim.AbortAsync(CloseReason.Limit, "closed to make room under the connection limit", LimitScope).ConfigureAwait(false);
        return true;
    }

    private void OnPoolExpired(PeerConnection connection)
    {
        _metrics.RecordPoolExpiration();
        _ = connection.AbortAsync(CloseReason.IdleExpired, $"idle in the pool for the pool timeout ({Pool.Timeout})");
    }

    /// <summary>
    /// A rule changed: every live and pooled connection is checked again, not only the named peer's, since starting an
    /// allow list takes the right away from every peer not on it. Rules change rarely; this is one pass over the peers.
    /// </summary>
    private void OnGaterChanged(PeerId changed)
    {
        if (IsDisposed)
            return;
        foreach (var entry in Peers.Values)
        {
            var peerId = entry.Id;
            if (Volatile.Read(ref entry.Active) is { } active && !_gater.IsAllowed(peerId, DirectionOf(active)))
            {
                Reconnector.Stop(entry.Reconnect);
                _ = active.CloseAsync(CloseReason.Gated, "refused by the connection gater");
            }
            if (Pool.Find(peerId) is { } pooled && !_gater.IsAllowed(peerId, DirectionOf(pooled.Connection)) && Pool.TryTake(peerId) is { } taken)
                _ = taken.CloseAsync(CloseReason.Gated, "refused by the connection gater");
        }
    }

    private static GateDirection DirectionOf(PeerConnection connection) => connection.Inbound ? GateDirection.Inbound : GateDirection.Outbound;

    /// <summary>
    /// Puts new settings to work on the running manager (ConnectionManager.Reconfigure): the limit, the pool timeout,
    /// keepalive and reconnect. Settings read on every use (connect timeout, breaker, request timeout) need nothing here.
    /// A lower limit never cuts an active connection: idle pooled ones close, oldest first, until the open count fits
    /// (or none is left), and new connections are refused until it fits.
    /// </summary>
    public void ApplySettings(ConnectionManagerOptions previous, ConnectionManagerOptions next)
    {
        if (IsDisposed)
            return;
        Limiter.Max = next.MaxConnections;
        if (next.MaxConnections < previous.MaxConnections)
        {
            while (Limiter.Open > next.MaxConnections && Pool.TryTakeOldest() is { } idle)
                _ = idle.AbortAsync(CloseReason.Limit, $"closed: the connection limit was lowered to {next.MaxConnections}", LimitScope);
        }
        if (next.PoolTimeout != previous.PoolTimeout)
        {
            if (next.PoolTimeout > TimeSpan.Zero)
                Pool.ChangeTimeout(next.PoolTimeout);
            else
                foreach (var idle in Pool.TakeAll())
                    _ = idle.AbortAsync(CloseReason.LocalDisconnect, "closed: the idle pool was turned off");
        }
        if (next.KeepAliveInterval != previous.KeepAliveInterval || next.KeepAliveTimeout != previous.KeepAliveTimeout)
            KeepAlive.Change(next.KeepAliveInterval, next.KeepAliveTimeout);
        if (TrimSettingsOf(next) != TrimSettingsOf(previous))
            Trimmer.Change();
        if (previous.AutoReconnect && !next.AutoReconnect)
        {
            // Peers that follow the manager's setting stop redialing; those with a setting of their own keep it.
            foreach (var entry in Peers.Values)
            {
                if (!Reconnector.HasOwnSetting(entry.Reconnect))
                    Reconnector.Stop(entry.Reconnect);
            }
        }
    }

    /// <summary>Marks the dialer disposed: no new operation starts. True for the first caller only.</summary>
    public bool TryMarkDisposed() => Interlocked.Exchange(ref _disposed, 1) == 0;

    /// <summary>Disposal, first half: dials in flight are cancelled, the keepalive timer and the reconnect loops stop.</summary>
    public async Task StopAsync()
    {
        _disposing.Cancel();
        _gater.Changed -= OnGaterChanged;
        await KeepAlive.DisposeAsync().ConfigureAwait(false);
        await Trimmer.DisposeAsync().ConfigureAwait(false);
        await Reconnector.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Disposal, second half (after the listeners closed): waits for operations in flight, then closes every connection.</summary>
    public async Task DrainAsync()
    {
        Exit();
        await _drained.Task.ConfigureAwait(false);
        await Task.WhenAll(_connections.Keys.Select(c => c.CloseAsync(CloseReason.Shutdown, "the manager was disposed"))).ConfigureAwait(false);
    }

    /// <summary>Disposal, last: the pool's timer and cache.</summary>
    public void Dispose()
    {
        Pool.Dispose();
        _disposing.Dispose();
    }
}
