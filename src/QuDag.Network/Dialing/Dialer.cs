using System.Net;
using QuDag.P2p.Host;
using QuDag.P2p.Muxing;
using QuDag.P2p.Upgrade;

namespace QuDag.Network;

// A PeerId's way from the cmdlet to the socket, and the parts below: docs/ARCHITECTURE.md.

/// <summary>
/// The dialing parts as the manager sees them: it builds them over one libp2p host and hands each call to the part that
/// owns it (<see cref="OutboundDialer"/>, <see cref="InboundAdmission"/>, <see cref="PeerActivation"/>), hears every
/// connection's open, close, data and round trips, and keeps the policies in step with the settings and the gater.
/// The parts it uses never use each other: the peer table, the idle pool, the gater, circuit, reconnect, keepalive and
/// trim policies, and the metrics. The count under MaxConnections is the host's system scope; the dialer only makes
/// room in it (<see cref="RelieveAsync"/>).
/// </summary>
internal sealed class Dialer : IConnectionOwner
{
    private readonly Func<ConnectionManagerOptions> _settings; // the manager's current settings, read on every use
    private readonly TimeProvider _time;
    private readonly P2pHost _host;
    private readonly ManagerMetrics _metrics;
    private readonly Inbox _inbox;
    private readonly ConnectionGater _gater; // captured: replacing Options.Gater later must not leave a handler behind
    private readonly LiveConnections _live = new();
    private readonly DialerLifetime _lifetime = new();
    private readonly PeerActivation _activation;
    private readonly OutboundDialer _outbound;
    private readonly InboundAdmission _inbound;
    private readonly DepartedPeers _departed;

    public Dialer(Func<ConnectionManagerOptions> settings, PeerId localPeerId, P2pHost host, PeerTable<PeerEntry> peers, ManagerMetrics metrics, Inbox inbox)
    {
        _settings = settings;
        var options = settings();
        _time = options.TimeProvider;
        _host = host;
        _metrics = metrics;
        _inbox = inbox;
        Peers = peers;
        _gater = options.Gater;
        Pool = new IdlePool<PeerConnection>(options.PoolTimeout > TimeSpan.Zero ? options.PoolTimeout : TimeSpan.FromSeconds(1), _time, OnPoolExpired);
        KeepAlive = new KeepAliveMonitor(options.KeepAliveInterval, options.KeepAliveTimeout, _time, () => _live.Open,
            metrics.RecordKeepAliveFailure);
        Trimmer = new ConnectionTrimmer(() => TrimSettingsOf(_settings()), _time, () => (IReadOnlyCollection<ITrimTarget>)_live.Open);
        _activation = new PeerActivation(settings, peers, Pool, _lifetime);
        _outbound = new OutboundDialer(settings, localPeerId, host, metrics, _gater, peers, Pool, _live, _activation,
            new DialBreaker(settings, _time, metrics, peers), _lifetime);
        _inbound = new InboundAdmission(localPeerId, metrics, _gater, Pool, _activation, _lifetime);
        Reconnector = new Reconnector(settings, _outbound, metrics.RecordReconnectAttempt, metrics.RecordReconnect);
        _departed = new DepartedPeers(options.MaxDisconnectedInboundPeers, TryForget);
        _gater.Changed += OnGaterChanged;
        _host.ConnectionOpened += OnHostConnectionOpened;
        _host.ConnectionClosed += OnHostConnectionClosed;
        _host.SetStreamHandler(PeerConnection.MessageProtocol, ServeMessagesAsync);
    }

    public PeerTable<PeerEntry> Peers { get; }

    /// <summary>The gater captured at construction (the one the manager enforces).</summary>
    public ConnectionGater Gater => _gater;

    public IdlePool<PeerConnection> Pool { get; }

    public KeepAliveMonitor KeepAlive { get; }

    public Reconnector Reconnector { get; }

    /// <summary>The watermarks, protections and tags: closes the lowest-value connections above the high watermark.</summary>
    public ConnectionTrimmer Trimmer { get; }

    private static TrimSettings TrimSettingsOf(ConnectionManagerOptions o) => new(o.LowWater, o.HighWater, o.GracePeriod, o.SilencePeriod);

    /// <summary>Connections set as some peer's active one.</summary>
    public int ActiveCount => _activation.ActiveCount;

    public bool IsDisposed => _lifetime.IsDisposed;

    /// <inheritdoc cref="PeerActivation.ActiveConnection"/>
    public PeerConnection ActiveConnection(PeerId peerId) => _activation.ActiveConnection(peerId);

    /// <inheritdoc cref="OutboundDialer.ConnectAsync"/>
    public Task ConnectAsync(PeerId peerId, EndPoint? endPoint, bool named, TimeSpan? timeout, CancellationToken cancellationToken)
        => _outbound.ConnectAsync(peerId, endPoint, named, timeout, cancellationToken);

    /// <inheritdoc cref="OutboundDialer.ExchangeAsync"/>
    public Task<T> ExchangeAsync<T>(PeerId peerId, IReadOnlyList<EndPoint> targets, string protocol,
        Func<MuxedStream, P2pConnection, CancellationToken, Task<T>> exchange, CancellationToken cancellationToken)
        => _outbound.ExchangeAsync(peerId, targets, protocol, exchange, cancellationToken);

    /// <inheritdoc cref="PeerActivation.DisconnectAsync"/>
    public Task DisconnectAsync(PeerId peerId, bool close, CancellationToken cancellationToken)
        => _activation.DisconnectAsync(peerId, close, cancellationToken);

    /// <summary>
    /// The host upgraded a connection. Outbound ones belong to the dial that asked for them; inbound ones go to
    /// admission. Runs before the host serves any of its streams.
    /// </summary>
    private void OnHostConnectionOpened(P2pConnection connection)
    {
        var wrapper = new PeerConnection(this, _host, connection, _settings());
        _live.Wrapped(wrapper);
        wrapper.Start();
        if (_settings().IdentifyPeers)
            _ = RememberIdentifyAsync(connection);
        if (connection.Direction == Direction.Inbound)
            _ = _inbound.AcceptAsync(wrapper);
    }

    /// <summary>The host's task for the connection saw it end: its wrapper reports the close (once).</summary>
    private void OnHostConnectionClosed(P2pConnection connection) => _live.Find(connection)?.OnEnded();

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
            var seenAt = (connection.RemoteEndPoint as IPEndPoint)?.Address;
            entry.Identified(identify, seenAt);
            Identified?.Invoke(connection.RemotePeer, identify, seenAt);
            // Closed already: its close may have passed before this entry existed, so queue it as that close would.
            if (!connection.IsOpen)
                _departed.Add(entry);
        }
        catch (Exception)
        {
            // A peer that does not answer identify is still a peer; it only lacks those details.
        }
    }

    private Task ServeMessagesAsync(MuxedStream stream, P2pConnection connection, CancellationToken cancellationToken)
        => _live.Find(connection) is { } wrapper
            ? wrapper.ReceiveMessagesAsync(stream, cancellationToken)
            : Task.CompletedTask;

    void IConnectionOwner.OnOpened(PeerConnection connection)
    {
        var open = _live.Opened(connection);
        _metrics.RecordHandshake(connection.HandshakeTime, connection.Inbound);
        Trimmer.OnConnectionOpened(connection, open);
    }

    void IConnectionOwner.OnClosed(PeerConnection connection, CloseInfo info)
    {
        _live.Closed(connection);
        var lost = false;
        _metrics.RecordClose(info.Code);
        if (Peers.TryGet(connection.RemoteId, out var entry))
        {
            if (_activation.TryDeactivate(entry, connection, info))
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
        // The connection's scope went back before its close reached us: at the limit, a reconnect finds exactly this room.
        if (lost)
            Reconnector.Start(entry!.Id, entry.Reconnect);
        if (entry is not null)
            _departed.Add(entry);
    }

    ValueTask IConnectionOwner.OnDataAsync(PeerConnection connection, byte[] payload, DateTimeOffset receivedAt, CancellationToken cancellationToken)
        => _inbox.EnqueueAsync(new PeerMessage(connection.RemoteId, payload, receivedAt), cancellationToken);

    void IConnectionOwner.OnPingRoundTrip(PeerConnection connection, TimeSpan roundTrip)
    {
        _metrics.RecordPing(roundTrip);
        if (Peers.TryGet(connection.RemoteId, out var entry))
            entry.RoundTrip(roundTrip, _time.GetUtcNow());
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
            if (entry.Active is not null || Pool.Find(entry.Id) is not null || entry.EndPoint is not null)
                return ForgetOutcome.Kept;
            return Peers.TryForget(entry) ? ForgetOutcome.Forgotten : ForgetOutcome.Kept;
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>The scope a close at MaxConnections names (<see cref="P2p.Resources.ResourceLimitExceededException.ScopeLabel"/>).</summary>
    private const string SystemScope = "system";

    /// <summary>
    /// The host's <see cref="P2p.Resources.ResourceManager.Relief"/>: a new connection found the system scope full
    /// (MaxConnections). Closes the pooled connection idle longest; with nothing idle, a dial with <c>TrimAtLimit</c>
    /// trims the lowest-value unprotected connection past its grace period. True once the closed one's scope is back
    /// (a connection releases it before its close completes).
    /// </summary>
    public async ValueTask<bool> RelieveAsync(bool inbound, CancellationToken cancellationToken)
    {
        if (Pool.TryTakeOldest() is { } victim)
        {
            await victim.AbortAsync(CloseReason.Limit, "closed to make room under the connection limit", SystemScope).ConfigureAwait(false);
            return true;
        }
        return !inbound && _settings().TrimAtLimit && await Trimmer.TrimOneAsync().ConfigureAwait(false);
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
            if (entry.Active is { } active && !_gater.IsAllowed(peerId, DirectionOf(active)))
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
    /// A lower limit (the system scope's, set by the manager before this) never cuts an active connection: idle pooled
    /// ones close, oldest first, until the open count fits (or none is left), and new connections are refused until it fits.
    /// </summary>
    public void ApplySettings(ConnectionManagerOptions previous, ConnectionManagerOptions next)
    {
        if (IsDisposed)
            return;
        if (next.MaxConnections < previous.MaxConnections)
        {
            // Counted once: the closes below give their slots back asynchronously, so the count would not move inside the loop.
            int excess = _host.Resources.System.Connections - next.MaxConnections;
            while (excess-- > 0 && Pool.TryTakeOldest() is { } idle)
                _ = idle.AbortAsync(CloseReason.Limit, $"closed: the connection limit was lowered to {next.MaxConnections}", SystemScope);
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
    public bool TryMarkDisposed() => _lifetime.TryMarkDisposed();

    /// <summary>Disposal, first half: dials in flight are cancelled, the keepalive timer and the reconnect loops stop.</summary>
    public async Task StopAsync()
    {
        _lifetime.Cancel();
        _gater.Changed -= OnGaterChanged;
        await KeepAlive.DisposeAsync().ConfigureAwait(false);
        await Trimmer.DisposeAsync().ConfigureAwait(false);
        await Reconnector.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Disposal, second half (after the listeners closed): waits for operations in flight, then closes every connection.</summary>
    public async Task DrainAsync()
    {
        await _lifetime.DrainAsync().ConfigureAwait(false);
        await Task.WhenAll(_live.Open.Select(c => c.CloseAsync(CloseReason.Shutdown, "the manager was disposed"))).ConfigureAwait(false);
    }

    /// <summary>Disposal, last: the pool's timer and cache.</summary>
    public void Dispose()
    {
        Pool.Dispose();
        _lifetime.Dispose();
    }
}
