using System.Collections.Concurrent;
using System.Net;
using QuDag.P2p.Host;

namespace QuDag.Network;

/// <summary>
/// Manages libp2p connections to QuDAG peers (TCP, Noise or TLS, yamux): status tracking, an idle pool that
/// reuses live connections, a limit on open connections, and metrics measured from real traffic (the seed's
/// <c>ConnectionManager</c>, made real). Thread-safe; dispose it to close everything it opened.
/// </summary>
/// <remarks>
/// A facade: it builds the parts, hands each call to the one that owns the state (the <see cref="Dialer"/> for
/// connections, the <see cref="PeerTable{TEntry}"/> for statuses, the <see cref="Inbox"/> for messages, the request
/// service for <c>/qudag/req/1.0.0</c>), and disposes them in order.
/// </remarks>
public sealed partial class ConnectionManager : IAsyncDisposable
{
    private ConnectionManagerOptions _options; // replaced whole by Reconfigure; the parts read it through Settings
    private readonly Lock _reconfigure = new();
    private readonly NodeIdentity _identity;
    private readonly bool _ownsIdentity;
    private readonly TimeProvider _time;
    private readonly PeerTable<PeerEntry> _peers;
    private readonly P2pHost _host;
    private readonly Dialer _dialer;
    private readonly ConcurrentDictionary<PeerListener, byte> _listeners = new();
    private readonly Messaging.RequestService _requests;
    private readonly Inbox _inbox;
    private readonly ManagerMetrics _metrics;
    private readonly TopicService _topics;
    private readonly PeerExchangeDialer _peerExchange;

    /// <summary>Peer-exchange dials at once (one PRUNE offers at most 16).</summary>
    private const int MaxPeerExchangeDials = 16;
    private readonly PeerDiscovery? _discovery;
    private Task? _disposeTask;

    /// <summary>A manager for up to <paramref name="maxConnections"/> open connections, with the seed's 5-minute pool timeout.</summary>
    public ConnectionManager(int maxConnections)
        : this(new ConnectionManagerOptions { MaxConnections = maxConnections })
    {
    }

    /// <summary>A manager with a custom pool timeout (the seed's <c>with_pool_timeout</c>).</summary>
    public ConnectionManager(int maxConnections, TimeSpan poolTimeout)
        : this(new ConnectionManagerOptions { MaxConnections = maxConnections, PoolTimeout = poolTimeout })
    {
    }

    /// <summary>A manager with every setting given.</summary>
    public ConnectionManager(ConnectionManagerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone(); // the caller's object stays the caller's: a later change to it does nothing here
        _time = options.TimeProvider;
        _ownsIdentity = options.Identity is null;
        _identity = options.Identity ?? NodeIdentity.Create();
        _peers = new PeerTable<PeerEntry>(this, _time, static id => new PeerEntry(id));
        // The gauges read the dialer's counts; a listener may observe them before the dialer below exists.
        _metrics = new ManagerMetrics(_time, _identity.PeerId,
            () => _dialer is { } d ? (d.ActiveCount, d.Pool.Count, Settings.MaxConnections, _peers.Count) : (0, 0, Settings.MaxConnections, _peers.Count));
        _inbox = new Inbox(options.ReceiveQueueCapacity, _metrics);
        _host = new P2pHost(new P2pHostOptions
        {
            Identity = _identity,
            Security = options.Security,
            Gater = new HostGater(options.Gater, _metrics),
            ConnectTimeout = options.ConnectTimeout,
            TimeProvider = _time,
            IdentifyOnConnect = options.IdentifyPeers,
            MaxPendingInboundUpgradesPerAddress = options.MaxPendingInboundUpgradesPerAddress,
            // The seed's limit is the system scope's connection limit: it counts every connection from its open.
            Resources = WithMaxConnections(options.Resources, options.MaxConnections),
        });
        _host.Resources.Blocked += refused => _metrics.RecordBlocked(refused.Scope);
        // A connection at the system scope's limit, either way, first has the longest-idle pooled connection closed (a
        // dial with TrimAtLimit may trim one instead); only then is it refused.
        _host.Resources.Relief = (inbound, ct) => _dialer!.RelieveAsync(inbound, ct);
        _dialer = new Dialer(() => Settings, _identity.PeerId, _host, _peers, _metrics, _inbox);
        _host.InboundUpgradeFailed += (_, error) => _metrics.RecordFailure(inbound: true, ConnectFailures.Classify(error));
        _requests = new Messaging.RequestService(_time, () => Settings.RequestTimeout, options.RequestQueueCapacity,
            (request, response) =>
            {
                _metrics.RecordReceived(request);
                _metrics.RecordSent(response);
            });
        _host.SetStreamHandler(Messaging.QuDagRequestCodec.ProtocolId, _requests.ServeAsync);
        if (options.DhtMode != P2p.Protocols.Kad.KadMode.Off)
            _discovery = new PeerDiscovery(options, _identity.PeerId, _dialer, _host);
        _topics = new TopicService(_host, options.Gossipsub with { TimeProvider = _time, SignedPeerRecords = options.Gossipsub.SignedPeerRecords ?? SignedRecordOf },
            _metrics.Topics, options.TopicQueueCapacity);
        // Peer exchange: offered peers are dialed through the manager (its limits apply), at their signed records' addresses.
        _peerExchange = new PeerExchangeDialer(MaxPeerExchangeDials,
            peer => _dialer.Peers.TryGet(peer, out var entry) && entry.Status is ConnectionStatus.Connected or ConnectionStatus.Connecting,
            GetEndPoint, (peer, endPoint, ct) => ConnectAsync(peer, endPoint, ct));
        _topics.Router.PeerExchangeReceived += _peerExchange.OnExchange;
        // Connected joins gossip, Disconnected (to the pool) or Failed leaves it; Connecting changes nothing yet.
        _peers.StatusChanged += (_, e) =>
        {
            if (e.NewStatus is ConnectionStatus.Connected or ConnectionStatus.Disconnected or ConnectionStatus.Failed)
                _topics.OnPeerStatus(e.PeerId, e.NewStatus == ConnectionStatus.Connected);
        };
    }

    /// <summary>
    /// The signed peer record a peer sent us in identify, if it checks out (signed by that peer): what our gossip peer
    /// exchange passes on with its id, so the pruned peer can dial it without trusting us. Called by the router when it
    /// prunes with peer exchange (off unless <see cref="P2p.Protocols.Gossipsub.GossipsubOptions.DoPeerExchange"/>).
    /// </summary>
    private byte[]? SignedRecordOf(PeerId peer) =>
        _dialer.Peers.TryGet(peer, out var entry) && entry.Identify?.SignedPeerRecord is { } record
            && SignedPeerRecord.TryOpen(record, peer) is not null ? record : null;

    /// <summary>This node's libp2p peer id ("12D3KooW...", from its Ed25519 key).</summary>
    public PeerId LocalPeerId => _identity.PeerId;

    /// <summary>The settings this manager runs with, as a copy: change them with <see cref="Reconfigure"/>.</summary>
    public ConnectionManagerOptions Options => Settings.Clone();

    private ConnectionManagerOptions Settings => Volatile.Read(ref _options);

    /// <summary>The limit on open connections.</summary>
    public int MaxConnections => Settings.MaxConnections;

    /// <summary>How long idle connections wait in the pool.</summary>
    public TimeSpan PoolTimeout => Settings.PoolTimeout;

    /// <summary>
    /// Changes settings while the manager runs, without closing anything: <paramref name="change"/> edits a copy of the
    /// current settings, which is validated and then put to work. The limit applies to the next connection (a lower one
    /// closes idle pooled connections, oldest first, until the open count fits, and refuses new ones until it does; it
    /// never cuts an active one); the pool timeout to every pooled connection (counted from when it was pooled);
    /// keepalive at the next check (zero stops it, a positive interval starts it); the connect timeout to the next
    /// dial and inbound upgrade; the breaker to each peer's next dial; reconnect delays to the next reconnect loop, and
    /// turning auto-reconnect off stops the loops of peers without a setting of their own; the request timeout to the
    /// next request. <see cref="ConnectionManagerOptions.LiveSettings"/> lists what may change.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range (as <see cref="ConnectionManagerOptions.Validate"/>).</exception>
    /// <exception cref="InvalidOperationException">A setting that is fixed for the manager's life was changed.</exception>
    public void Reconfigure(Action<ConnectionManagerOptions> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        ThrowIfDisposed();
        lock (_reconfigure)
        {
            var previous = Settings;
            var next = previous.Clone();
            change(next);
            next.Validate();
            var fixedChanged = ConnectionManagerOptions.FixedSettingsChanged(previous, next).ToList();
            if (fixedChanged.Count > 0)
                throw new InvalidOperationException(
                    $"{string.Join(", ", fixedChanged)} cannot change while the manager runs; make a new ConnectionManager for that.");
            Volatile.Write(ref _options, next);
            _host.ConnectTimeout = next.ConnectTimeout;
            if (next.MaxConnections != previous.MaxConnections)
                _host.Resources.SetLimits(P2p.Resources.ResourceScopeKind.System,
                    WithMaxConnections(_host.Resources.System.Limits, _host.Resources.Options.MemoryBudgetBytes, next.MaxConnections, previous.MaxConnections));
            _dialer.ApplySettings(previous, next);
        }
    }

    /// <summary>Open connections right now: handshaking, active and idle, both directions (the system scope's count,
    /// which MaxConnections limits).</summary>
    public int OpenConnections => _host.Resources.System.Connections;

    /// <summary>The allow and deny lists this manager enforces (<see cref="ConnectionManagerOptions.Gater"/>).</summary>
    public ConnectionGater Gater => _dialer.Gater;

    /// <summary>The keepalive check period (a quarter of the shorter setting, 50 ms..5 s): a dead peer is failed
    /// within interval + timeout + two periods.</summary>
    public TimeSpan KeepAlivePeriod => _dialer.KeepAlive.Period;

    /// <summary>The listeners accepting for this manager.</summary>
    public IReadOnlyCollection<PeerListener> Listeners => _listeners.Keys.ToArray();

    /// <summary>Raised on every status change of any peer, on the thread that made the change.</summary>
    public event EventHandler<ConnectionStatusChangedEventArgs>? StatusChanged
    {
        add => _peers.StatusChanged += value;
        remove => _peers.StatusChanged -= value;
    }

    /// <summary>The libp2p node underneath: its listeners, connections, and the protocols it serves.</summary>
    public P2pHost Host => _host;

    /// <summary>Starts accepting inbound connections on <paramref name="endPoint"/> (port 0 picks a free port).</summary>
    public async Task<PeerListener> ListenAsync(IPEndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ThrowIfDisposed();
        var inner = await _host.ListenAsync(endPoint, cancellationToken).ConfigureAwait(false);
        var listener = new PeerListener(inner, l => _listeners.TryRemove(l, out _));
        _listeners.TryAdd(listener, 0);
        if (IsDisposed)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(ConnectionManager));
        }
        return listener;
    }

    /// <summary>Records the endpoint a peer is reached at (the address book used by <see cref="ConnectAsync(PeerId, CancellationToken)"/>).</summary>
    public void AddPeer(PeerId peerId, EndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ThrowIfDisposed();
        _peers.GetOrAddNamed(peerId).ReachedAt(endPoint);
    }

    /// <summary>
    /// Records a peer from its multiaddr (<c>/ip4|ip6|dns*/…/tcp/N/p2p/ID</c>): the <c>/p2p</c> part names the peer.
    /// Returns the peer id.
    /// </summary>
    /// <exception cref="ArgumentException">The multiaddr has no <c>/p2p</c> part or names no TCP address.</exception>
    public PeerId AddPeer(Multiaddr address)
    {
        var (peerId, endPoint) = Split(address);
        AddPeer(peerId, endPoint);
        return peerId;
    }

    private static (PeerId PeerId, EndPoint EndPoint) Split(Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.PeerId is not { } peerId)
            throw new ArgumentException($"The multiaddr {address} does not name its peer: end it with /p2p/<peer id>.", nameof(address));
        if (!address.TryGetEndPoint(out var endPoint))
            throw new ArgumentException($"The multiaddr {address} names no TCP address (expected /ip4, /ip6 or /dns*, then /tcp).", nameof(address));
        return (peerId, endPoint);
    }

    /// <summary>The endpoint known for a peer, if any.</summary>
    public EndPoint? GetEndPoint(PeerId peerId) => _peers.TryGet(peerId, out var entry) ? entry.EndPoint : null;

    /// <summary>
    /// Connects to a peer at the endpoint in the address book. Reuses its pooled connection when there is a
    /// live one (no new TCP connect or security handshake); returns at once when it is already connected.
    /// </summary>
    /// <exception cref="PeerAddressUnknownException">No endpoint is known for the peer.</exception>
    /// <exception cref="ConnectionLimitReachedException">At the limit with nothing idle to close.</exception>
    /// <exception cref="PeerConnectException">Refused, timed out, failed authentication or the identity check.</exception>
    /// <remarks>With the DHT on (<see cref="ConnectionManagerOptions.DhtMode"/>), a peer with no known address is looked up
    /// in the DHT first (<see cref="FindPeerAsync"/>), and the address found goes into the address book.</remarks>
    public Task ConnectAsync(PeerId peerId, CancellationToken cancellationToken = default) =>
        ConnectAsync(peerId, null, null, cancellationToken);

    /// <summary>
    /// Connects as <see cref="ConnectAsync(PeerId, CancellationToken)"/> does, at <paramref name="endPoint"/> when given
    /// (it also goes into the address book), with <paramref name="connectTimeout"/> instead of the settings'
    /// <see cref="ConnectionManagerOptions.ConnectTimeout"/> for this connect. A connect past its timeout fails as a
    /// <see cref="ConnectFailureKind.Timeout"/>: the peer's status is Failed and the failure counts toward its circuit
    /// breaker. Cancelling <paramref name="cancellationToken"/> is not a failure of the peer.
    /// </summary>
    /// <inheritdoc cref="ConnectAsync(PeerId, CancellationToken)"/>
    public Task ConnectAsync(PeerId peerId, EndPoint? endPoint, TimeSpan? connectTimeout, CancellationToken cancellationToken = default)
    {
        if (connectTimeout is { } timeout)
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, nameof(connectTimeout));
        return endPoint is null && _discovery is not null
            ? ConnectOrFindAsync(peerId, connectTimeout, cancellationToken)
            : _dialer.ConnectAsync(peerId, endPoint, named: true, connectTimeout, cancellationToken);
    }

    /// <summary>Connects to a peer at <paramref name="endPoint"/>, which also goes into the address book.</summary>
    /// <inheritdoc cref="ConnectAsync(PeerId, CancellationToken)"/>
    public Task ConnectAsync(PeerId peerId, EndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return _dialer.ConnectAsync(peerId, endPoint, named: true, timeout: null, cancellationToken);
    }

    /// <summary>
    /// Connects to the peer a multiaddr names (<c>/ip4|ip6|dns*/…/tcp/N/p2p/ID</c>: the <c>/p2p</c> part is the identity
    /// expected), which also goes into the address book. Returns the peer id.
    /// </summary>
    /// <exception cref="ArgumentException">The multiaddr has no <c>/p2p</c> part or names no TCP address.</exception>
    /// <inheritdoc cref="ConnectAsync(PeerId, CancellationToken)"/>
    public async Task<PeerId> ConnectAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        var (peerId, endPoint) = Split(address);
        await ConnectAsync(peerId, endPoint, cancellationToken).ConfigureAwait(false);
        return peerId;
    }

    /// <summary>
    /// Disconnects a peer: its live connection goes to the idle pool (status <see cref="ConnectionStatus.Disconnected"/>)
    /// for a later connect to reuse. Does nothing for a peer the manager does not know.
    /// </summary>
    public Task DisconnectAsync(PeerId peerId) => DisconnectAsync(peerId, close: false);

    /// <summary>Disconnects a peer; with <paramref name="close"/> the connection (and any pooled one) is closed instead of pooled.</summary>
    public Task DisconnectAsync(PeerId peerId, bool close, CancellationToken cancellationToken = default) =>
        _dialer.DisconnectAsync(peerId, close, cancellationToken);

    /// <summary>
    /// Turns automatic reconnect on or off for one peer, overriding <see cref="ConnectionManagerOptions.AutoReconnect"/>.
    /// A peer with it on is redialed (at its address-book endpoint, with exponential backoff and jitter) when its
    /// connection is lost: closed by the remote, failed, or found dead by keepalive. A disconnect on purpose stops it.
    /// </summary>
    public void SetAutoReconnect(PeerId peerId, bool enabled)
    {
        if (peerId == LocalPeerId)
            throw new ArgumentException("A node does not connect to itself.", nameof(peerId));
        ThrowIfDisposed();
        _dialer.Reconnector.SetEnabled(_peers.GetOrAddNamed(peerId).Reconnect, enabled);
    }

    /// <summary>Received messages waiting for room in the receive queue, each holding its connection's reader; for tests.</summary>
    internal int DeliveriesWaitingForRoom => _inbox.WaitingDeliveries;

    /// <summary>True while a message to the peer waits for its flow-control credit (it stopped reading); for tests.</summary>
    internal bool SendWaitsForCredit(PeerId peerId) => _dialer.ActiveConnection(peerId).SendWaitsForCredit;

    /// <summary>Completes when the peer's reconnect loop (if any) has ended; for tests.</summary>
    internal Task ReconnectLoopOf(PeerId peerId) => _peers.TryGet(peerId, out var entry) ? entry.Reconnect.Loop : Task.CompletedTask;

    /// <summary>The peer's connect gate (another operation on the peer holding it); for tests.</summary>
    internal SemaphoreSlim GateOf(PeerId peerId) => _peers.TryGet(peerId, out var entry) ? entry.Gate : throw new KeyNotFoundException();

    private bool IsDisposed => _dialer.IsDisposed;

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    /// <summary>Closes every connection and listener, and stops the pool timer. Waits for connects in flight to end.</summary>
    public ValueTask DisposeAsync()
    {
        if (_dialer.TryMarkDisposed())
            _disposeTask = DisposeCoreAsync();
        return new ValueTask(Volatile.Read(ref _disposeTask) ?? Task.CompletedTask);
    }

    // The order matters: nothing new starts, listeners stop accepting, operations in flight end, then connections,
    // the request service and the host close, and only then the pool, the inbox and the meter go.
    private async Task DisposeCoreAsync()
    {
        if (_discovery is not null)
            await _discovery.DisposeAsync().ConfigureAwait(false);
        await _peerExchange.DisposeAsync().ConfigureAwait(false);
        await _dialer.StopAsync().ConfigureAwait(false);
        await Task.WhenAll(_listeners.Keys.Select(l => l.DisposeAsync().AsTask())).ConfigureAwait(false);
        await _dialer.DrainAsync().ConfigureAwait(false);
        await _requests.DisposeAsync().ConfigureAwait(false);
        await _topics.DisposeAsync().ConfigureAwait(false);
        await _host.DisposeAsync().ConfigureAwait(false);
        _dialer.Dispose();
        _inbox.Complete();
        _metrics.Dispose();
        if (_ownsIdentity)
            _identity.Dispose();
    }
}
