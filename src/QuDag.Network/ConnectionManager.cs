using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using QuDag.P2p;
using QuDag.P2p.Host;
using QuDag.P2p.Muxing;
using QuDag.P2p.Upgrade;

namespace QuDag.Network;

/// <summary>
/// Manages libp2p connections to QuDAG peers (TCP, Noise or TLS, yamux): status tracking, an idle pool that
/// reuses live connections, a limit on open connections, and metrics measured from real traffic (the seed's
/// <c>ConnectionManager</c>, made real). Thread-safe; dispose it to close everything it opened.
/// </summary>
public sealed partial class ConnectionManager : IAsyncDisposable, IConnectionOwner
{
    private readonly ConnectionManagerOptions _options;
    private readonly NodeIdentity _identity;
    private readonly bool _ownsIdentity;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<PeerId, PeerEntry> _peers = new();
    private readonly P2pHost _host;
    private readonly ConcurrentDictionary<P2pConnection, PeerConnection> _wrappers = new();
    private readonly ConcurrentDictionary<PeerConnection, byte> _connections = new();
    private readonly ConcurrentDictionary<PeerListener, byte> _listeners = new();
    private readonly Messaging.RequestService _requests;
    private readonly IdlePool _pool;
    private readonly Channel<PeerMessage> _inbox;
    private readonly ManagerMetrics _metrics;
    private readonly ConnectionEventLog _events = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConnectionGater _gater; // captured: replacing Options.Gater later must not leave a handler behind
    private readonly ITimer? _keepAlive;
    private int _open;      // sockets held: handshaking, active and idle
    private int _active;    // connections set as some peer's Active
    private int _peerCount;
    private int _busy = 1;  // operations in flight, plus one for the manager itself until it is disposed
    private int _disposed;
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
        _options = options;
        _time = options.TimeProvider;
        _ownsIdentity = options.Identity is null;
        _identity = options.Identity ?? NodeIdentity.Create();
        _pool = new IdlePool(options.PoolTimeout > TimeSpan.Zero ? options.PoolTimeout : TimeSpan.FromSeconds(1), _time, OnPoolExpired);
        _inbox = Channel.CreateBounded<PeerMessage>(new BoundedChannelOptions(options.ReceiveQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = false,
        });
        _metrics = new ManagerMetrics(_time, _identity.PeerId,
            () => (Volatile.Read(ref _active), _pool.Count, _options.MaxConnections, Volatile.Read(ref _peerCount)));
        _gater = options.Gater;
        _gater.Changed += OnGaterChanged;
        _host = new P2pHost(new P2pHostOptions
        {
            Identity = _identity,
            Security = options.Security,
            Gater = new GaterAdapter(this),
            DialTimeout = options.HandshakeTimeout,
            UpgradeTimeout = options.HandshakeTimeout,
            TimeProvider = _time,
            IdentifyOnConnect = options.IdentifyPeers,
        });
        _host.ConnectionOpened += OnHostConnectionOpened;
        _host.InboundUpgradeFailed += (_, error) => _metrics.RecordFailure(inbound: true, FailureReasons.Of(error));
        _host.SetStreamHandler(PeerConnection.MessageProtocol, ServeMessagesAsync);
        _requests = new Messaging.RequestService(_time, () => _options.RequestTimeout, options.RequestQueueCapacity,
            (request, response) =>
            {
                _metrics.RecordReceived(request);
                _metrics.RecordSent(response);
            });
        _host.SetStreamHandler(Messaging.QuDagRequestCodec.ProtocolId, _requests.ServeAsync);
        _keepAlive = StartKeepAlive();
    }

    /// <summary>This node's libp2p peer id ("12D3KooW...", from its Ed25519 key).</summary>
    public PeerId LocalPeerId => _identity.PeerId;

    /// <summary>The settings this manager runs with.</summary>
    public ConnectionManagerOptions Options => _options;

    /// <summary>The limit on open connections.</summary>
    public int MaxConnections => _options.MaxConnections;

    /// <summary>How long idle connections wait in the pool.</summary>
    public TimeSpan PoolTimeout => _options.PoolTimeout;

    /// <summary>Open sockets right now: handshaking, active and idle, both directions.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>The listeners accepting for this manager.</summary>
    public IReadOnlyCollection<PeerListener> Listeners => _listeners.Keys.ToArray();

    /// <summary>Raised on every status change of any peer, on the thread that made the change.</summary>
    public event EventHandler<ConnectionStatusChangedEventArgs>? StatusChanged;

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
        GetOrAddEntry(peerId).EndPoint = endPoint;
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
    public EndPoint? GetEndPoint(PeerId peerId) => _peers.TryGetValue(peerId, out var entry) ? entry.EndPoint : null;

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    private PeerEntry GetOrAddEntry(PeerId peerId)
    {
        if (_peers.TryGetValue(peerId, out var entry))
            return entry;
        var created = new PeerEntry(peerId);
        entry = _peers.GetOrAdd(peerId, created);
        if (ReferenceEquals(entry, created))
            Interlocked.Increment(ref _peerCount);
        return entry;
    }

    /// <summary>Counts an operation in flight, so disposal waits for it; false once disposal began.</summary>
    private bool TryEnter()
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

    private void Exit()
    {
        if (Interlocked.Decrement(ref _busy) == 0)
            _drained.TrySetResult();
    }

    /// <summary>Takes a socket slot under the limit, closing the longest-idle pooled connection if that makes room.</summary>
    private async ValueTask ReserveSlotAsync(PeerId? peerId)
    {
        while (true)
        {
            var open = Volatile.Read(ref _open);
            if (open < _options.MaxConnections)
            {
                if (Interlocked.CompareExchange(ref _open, open + 1, open) == open)
                    return;
                continue;
            }
            var victim = _pool.TryTakeOldest() ?? throw new ConnectionLimitReachedException(_options.MaxConnections, peerId);
            await victim.AbortAsync("closed to make room under the connection limit").ConfigureAwait(false);
        }
    }

    // recorded: a status set through UpdateStatusAsync. It always notifies and is not time-stamped, since a clock
    // read costs more than the whole O(1) update here (tests/QuDag.Benchmarks/RESULTS.md).
    private void SetStatus(PeerEntry entry, ConnectionStatus status, string? reason, bool recorded = false)
    {
        var old = entry.Exchange(status);
        if (!recorded)
            Volatile.Write(ref entry.LastChangeTimestamp, _time.GetTimestamp());
        if (status == ConnectionStatus.Failed && reason is not null)
            entry.LastError = reason;
        if (old == status && !recorded)
            return;
        if (!recorded)
            _events.Add(new ConnectionEvent(_time.GetUtcNow(), entry.Id, old, status, reason));
        var handler = StatusChanged;
        var subscribers = entry.Subscribers;
        if (handler is null && subscribers.Length == 0)
            return;
        Notify(handler, subscribers, new ConnectionStatusChangedEventArgs(entry.Id, old, status, reason));
    }

    // Apart from SetStatus so that its fast path (nobody listening) allocates no closure. A faulty subscriber
    // must not break a connect, a close or another subscriber.
    private void Notify(EventHandler<ConnectionStatusChangedEventArgs>? handler, Action<ConnectionStatusChangedEventArgs>[] subscribers,
        ConnectionStatusChangedEventArgs args)
    {
        if (handler is not null)
        {
            foreach (EventHandler<ConnectionStatusChangedEventArgs> h in handler.GetInvocationList())
            {
                try
                {
                    h(this, args);
                }
                catch (Exception ex)
                {
                    Trace.TraceError($"QuDag: a StatusChanged handler threw: {ex}");
                }
            }
        }
        foreach (var s in subscribers)
        {
            try
            {
                s(args);
            }
            catch (Exception ex)
            {
                Trace.TraceError($"QuDag: a status subscriber threw: {ex}");
            }
        }
    }

    /// <summary>Makes <paramref name="connection"/> the peer's active one; undoes it if the connection closed meanwhile.</summary>
    private void Activate(PeerEntry entry, PeerConnection connection)
    {
        Volatile.Write(ref entry.Active, connection);
        Interlocked.Increment(ref _active);
        entry.LastError = null;
        SetStatus(entry, ConnectionStatus.Connected, null);
        if (!connection.IsOpen)
            TryDeactivate(entry, connection, connection.CloseInfo);
    }

    /// <summary>Clears the peer's active connection if it is still <paramref name="connection"/>; one caller wins.</summary>
    private bool TryDeactivate(PeerEntry entry, PeerConnection connection, CloseInfo? info)
    {
        if (Interlocked.CompareExchange(ref entry.Active, null, connection) != connection)
            return false;
        Interlocked.Decrement(ref _active);
        if (info is { } i)
            SetStatus(entry, i.Failed ? ConnectionStatus.Failed : ConnectionStatus.Disconnected, i.Reason);
        return true;
    }

    void IConnectionOwner.OnOpened(PeerConnection connection)
    {
        _connections.TryAdd(connection, 0);
        _metrics.RecordHandshake(connection.HandshakeTime, connection.Inbound);
    }

    void IConnectionOwner.OnClosed(PeerConnection connection, CloseInfo info)
    {
        _connections.TryRemove(connection, out _);
        _wrappers.TryRemove(connection.Connection, out _);
        var lost = false;
        if (_peers.TryGetValue(connection.RemoteId, out var entry))
        {
            if (TryDeactivate(entry, connection, info))
                lost = !info.Deliberate; // lost (remote close, fault, keepalive), not closed by this node
            else
                _pool.Forget(connection);
        }
        // The slot is free before a reconnect asks for one: at the limit, it needs exactly this one.
        if (connection.ReleaseSlot())
            Interlocked.Decrement(ref _open);
        if (lost)
            StartReconnect(entry!);
    }

    ValueTask IConnectionOwner.OnDataAsync(PeerConnection connection, byte[] payload, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _metrics.QueuedBytes, payload.Length);
        var message = new PeerMessage(connection.RemoteId, payload, receivedAt);
        // Counted once queued, so a reader that sees the count can also receive the message.
        if (_inbox.Writer.TryWrite(message))
        {
            _metrics.RecordReceived(payload.Length);
            return default;
        }
        return EnqueueAsync(message, cancellationToken);
    }

    // Bounded: when the application does not keep up, this waits and the connection stops reading.
    private async ValueTask EnqueueAsync(PeerMessage message, CancellationToken cancellationToken)
    {
        await _inbox.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        _metrics.RecordReceived(message.Payload.Length);
    }

    void IConnectionOwner.OnPingRoundTrip(PeerConnection connection, TimeSpan roundTrip)
    {
        _metrics.RecordPing(roundTrip);
        if (_peers.TryGetValue(connection.RemoteId, out var entry))
        {
            Volatile.Write(ref entry.LastRoundTripTicks, Math.Max(roundTrip.Ticks, 1));
            RecordRoundTrip(entry, roundTrip);
        }
    }

    private void OnPoolExpired(PeerConnection connection)
    {
        Interlocked.Increment(ref _metrics.PoolExpirations);
        _ = connection.AbortAsync($"idle in the pool for the pool timeout ({_options.PoolTimeout})");
    }

    /// <summary>Closes every connection and listener, and stops the pool timer. Waits for connects in flight to end.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            _disposeTask = DisposeCoreAsync();
        return new ValueTask(Volatile.Read(ref _disposeTask) ?? Task.CompletedTask);
    }

    private async Task DisposeCoreAsync()
    {
        _disposing.Cancel();
        _gater.Changed -= OnGaterChanged;
        if (_keepAlive is not null)
            await _keepAlive.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(_listeners.Keys.Select(l => l.DisposeAsync().AsTask())).ConfigureAwait(false);
        Exit();
        await _drained.Task.ConfigureAwait(false);
        await Task.WhenAll(_connections.Keys.Select(c => c.CloseAsync("the manager was disposed"))).ConfigureAwait(false);
        await _requests.DisposeAsync().ConfigureAwait(false);
        await _host.DisposeAsync().ConfigureAwait(false);
        _pool.Dispose();
        _inbox.Writer.TryComplete();
        _metrics.Dispose();
        _disposing.Dispose();
        if (_ownsIdentity)
            _identity.Dispose();
    }
}
