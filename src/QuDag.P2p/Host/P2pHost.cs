using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Protocols.Identify;
using QuDag.P2p.Protocols.Ping;
using QuDag.P2p.Resources;
using QuDag.P2p.Security;
using QuDag.P2p.Security.Noise;
using QuDag.P2p.Security.Tls;
using QuDag.P2p.Transport.Tcp;
using QuDag.P2p.Upgrade;
using QuDag.P2p.Upgrade.Multistream;

namespace QuDag.P2p.Host;

/// <summary>
/// A libp2p node: dials and listens over TCP, upgrades every connection (security, muxer), serves inbound
/// streams to the registered protocol handlers, and speaks ping and identify. It keeps no policy: which
/// connections to keep, limits and pooling are the caller's (QuDag.Network's manager).
/// </summary>
public sealed class P2pHost : IAsyncDisposable
{
    private readonly P2pHostOptions _options;
    private readonly NodeIdentity _identity;
    private readonly bool _ownsIdentity;
    private readonly Upgrader _upgrader;
    private readonly ISecurityTransport[] _security;
    private readonly TcpTransport _tcp;
    private readonly IConnectionGater _gater;
    private readonly TimeProvider _time;
    private readonly ResourceManager _resources;
    private readonly ConcurrentDictionary<string, StreamHandler> _handlers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<P2pConnection, ConnectionState> _connections = new();
    private readonly ConcurrentDictionary<P2pListener, TcpTransportListener> _listeners = new();
    private Tuple<string, byte[]>? _ownRecord; // the addresses it was made for, and the envelope
    private readonly CancellationTokenSource _stopping = new();
    // The tasks this host started and has not yet seen end (accept loops, inbound upgrades, one per connection, one
    // per inbound stream), plus one for the host itself until DisposeAsync. A count, not a set of tasks: a set costs
    // a node and a continuation per task, and every idle connection keeps one task for its whole life.
    private int _running = 1;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    public P2pHost(P2pHostOptions? options = null)
    {
        _options = options ?? new P2pHostOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxPendingInboundUpgradesPerAddress, 1, nameof(options));
        _ownsIdentity = _options.Identity is null;
        _identity = _options.Identity ?? NodeIdentity.Create();
        _gater = _options.Gater ?? AllowAllGater.Instance;
        _time = _options.TimeProvider;
        _resources = new ResourceManager(_options.Resources, _time, _options.MaxPendingInboundUpgradesPerAddress);
        _tcp = new TcpTransport(_time);
        var muxers = new IStreamMuxer[] { new YamuxMuxer(_options.Yamux) };
        string[] muxerIds = muxers.Select(m => m.ProtocolId).ToArray();
        _security = _options.Security.Select(id => id switch
        {
            SecurityProtocols.Noise => (ISecurityTransport)new NoiseSecurity(_identity, new NoiseSecurityOptions
            {
                // The upgrader's one deadline bounds the handshake; a second timer would only race it.
                HandshakeTimeout = Timeout.InfiniteTimeSpan,
                StreamMuxers = muxerIds,
                NegotiateEarlyMuxer = _options.EarlyMuxerNegotiation,
                TimeProvider = _time,
            }),
            SecurityProtocols.Tls => new TlsSecurity(_identity, new TlsSecurityOptions
            {
                HandshakeTimeout = Timeout.InfiniteTimeSpan,
                StreamMuxers = muxerIds,
                NegotiateEarlyMuxer = _options.EarlyMuxerNegotiation,
                TimeProvider = _time,
            }),
            _ => throw new ArgumentException($"Unknown security protocol '{id}'; use {SecurityProtocols.Noise} or {SecurityProtocols.Tls}.", nameof(options)),
        }).ToArray();
        _upgrader = new Upgrader(_security, muxers, _gater, _options.ConnectTimeout, _time);
        _handlers[PingProtocol.Id] = ServePingAsync;
        _handlers[IdentifyProtocol.Id] = ServeIdentifyAsync;
    }

    /// <summary>This node's peer id.</summary>
    public PeerId LocalPeerId => _identity.PeerId;

    /// <summary>This node's key.</summary>
    public NodeIdentity Identity => _identity;

    /// <summary>The settings this host runs with.</summary>
    public P2pHostOptions Options => _options;

    /// <summary>
    /// The resource scopes every connection and stream of this host reserves in: usage, limits (live), the allowlist,
    /// and the <see cref="ResourceManager.Blocked"/> event.
    /// </summary>
    public ResourceManager Resources => _resources;

    /// <summary>Live connections, both directions.</summary>
    public IReadOnlyCollection<P2pConnection> Connections => _connections.Keys.ToArray();

    /// <summary>
    /// The connections with <paramref name="peer"/> (a live, lock-free walk): unlike <see cref="Connections"/>, which
    /// copies every connection under all of the table's locks, it neither allocates per connection nor holds up
    /// connections being adopted meanwhile.
    /// </summary>
    public IEnumerable<P2pConnection> ConnectionsTo(PeerId peer)
    {
        foreach (var (connection, _) in _connections)
        {
            if (connection.RemotePeer == peer)
                yield return connection;
        }
    }

    /// <summary>Active listeners.</summary>
    public IReadOnlyCollection<P2pListener> Listeners => _listeners.Keys.ToArray();

    /// <summary>
    /// The deadline of a connection's whole setup: an outbound TCP connect and its upgrade together, an inbound
    /// upgrade from its accept. Starts as <see cref="P2pHostOptions.ConnectTimeout"/>; a change applies to every
    /// connection set up after it.
    /// </summary>
    public TimeSpan ConnectTimeout
    {
        get => _upgrader.Timeout;
        set => _upgrader.Timeout = value;
    }

    /// <summary>The protocols this node serves on inbound streams.</summary>
    public IReadOnlyCollection<string> Protocols => _handlers.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Raised once per connection, after its upgrade and before any inbound stream is served, on the thread
    /// that upgraded it. A handler may dispose the connection to refuse it (a limit, a policy).
    /// </summary>
    public event Action<P2pConnection>? ConnectionOpened;

    /// <summary>
    /// Raised when an inbound socket did not become a connection: refused by the gater, a failed or timed-out
    /// handshake, garbage. The socket is already closed; the handler only counts or logs.
    /// </summary>
    public event Action<EndPoint, Exception>? InboundUpgradeFailed;

    /// <summary>Raised once per connection when it has ended, for whatever reason.</summary>
    public event Action<P2pConnection>? ConnectionClosed;

    /// <summary>Serves <paramref name="protocol"/> on inbound streams with <paramref name="handler"/> (replacing any).</summary>
    public void SetStreamHandler(string protocol, StreamHandler handler)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(protocol);
        ArgumentNullException.ThrowIfNull(handler);
        _handlers[protocol] = handler;
    }

    /// <summary>Stops serving <paramref name="protocol"/>; streams already served go on.</summary>
    public bool RemoveStreamHandler(string protocol) => _handlers.TryRemove(protocol, out _);

    /// <summary>
    /// Dials <paramref name="endPoint"/> and upgrades the connection. With <paramref name="expectedPeer"/>
    /// set, a remote that proves another identity fails with <see cref="PeerIdMismatchException"/> and no
    /// connection is left behind.
    /// </summary>
    public Task<P2pConnection> DialAsync(EndPoint endPoint, PeerId? expectedPeer, CancellationToken cancellationToken = default)
        => DialAsync(endPoint, expectedPeer, null, cancellationToken);

    /// <summary>
    /// Dials as <see cref="DialAsync(EndPoint, PeerId?, CancellationToken)"/> does, with the TCP connect and the upgrade
    /// bounded together by <paramref name="timeout"/> (default <see cref="ConnectTimeout"/>): past it, a
    /// <see cref="TimeoutException"/>.
    /// </summary>
    public async Task<P2pConnection> DialAsync(EndPoint endPoint, PeerId? expectedPeer, TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        var deadline = timeout ?? ConnectTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(deadline, TimeSpan.Zero, nameof(timeout));
        ArgumentNullException.ThrowIfNull(endPoint);
        ThrowIfDisposed();
        if (expectedPeer is { } peer)
        {
            if (peer == LocalPeerId)
                throw new ArgumentException("A node cannot dial itself.", nameof(expectedPeer));
            if (!_gater.InterceptPeerDial(peer))
                throw new ConnectionGatedException($"The gater refused to dial peer {peer}.");
        }
        if (!_gater.InterceptAddrDial(expectedPeer, endPoint))
            throw new ConnectionGatedException($"The gater refused to dial {endPoint}.");

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        // Counted from here, before any socket opens: the process memory bound, the transient scope and the system scope
        // (whose owner may close an idle connection to make room) may refuse.
        var scope = await _resources.OpenConnectionAsync(inbound: false, endPoint, linked.Token).ConfigureAwait(false);
        P2pConnection connection;
        try
        {
            long start = _time.GetTimestamp();
            var socket = await _tcp.DialAsync(endPoint, deadline, linked.Token).ConfigureAwait(false);
            var raw = new TcpStream(socket);
            connection = await _upgrader.UpgradeOutboundAsync(raw, socket.LocalEndPoint!, socket.RemoteEndPoint ?? endPoint,
                expectedPeer, start, linked.Token, deadline, scope).ConfigureAwait(false);
        }
        catch
        {
            scope.Dispose();
            throw;
        }
        Adopt(connection); // the connection owns the scope now, and releases it when it ends
        return connection;
    }

    /// <summary>Dials a multiaddr (<c>/ip4|ip6|dns*/…/tcp/N[/p2p/ID]</c>); a /p2p part is the identity expected.</summary>
    public Task<P2pConnection> DialAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.TryGetEndPoint(out var endPoint))
            throw new TransportNotSupportedException($"Cannot dial {address}: it names no TCP address (expected /ip4, /ip6 or /dns*, then /tcp).");
        return DialAsync(endPoint, address.PeerId, cancellationToken);
    }

    /// <summary>Starts accepting connections on <paramref name="endPoint"/> (port 0 picks a free port).</summary>
    public Task<P2pListener> ListenAsync(IPEndPoint endPoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var tcp = TcpTransportListener.Listen(endPoint);
        var listener = new P2pListener(tcp.LocalEndPoint, LocalPeerId, StopListenerAsync);
        _listeners[listener] = tcp;
        Started();
        _ = AcceptLoopAsync(listener, tcp);
        return Task.FromResult(listener);
    }

    /// <summary>
    /// Pings the remote over <c>/ipfs/ping/1.0.0</c> on one long-lived stream per connection and returns the
    /// round-trip time.
    /// </summary>
    public Task<TimeSpan> PingAsync(P2pConnection connection, CancellationToken cancellationToken = default)
        => PingCoreAsync(connection, cancellationToken).AsTask();

    /// <summary><see cref="PingAsync"/> without a Task of its own: what the manager's ping awaits (its state machine
    /// is pooled, so a ping through the manager allocates no more than one through the host).</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<TimeSpan> PingCoreAsync(P2pConnection connection, CancellationToken cancellationToken = default)
    {
        var state = StateOf(connection);
        var pingLock = state.PingLock;
        await pingLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // A cached stream may be gone without our knowing: js-libp2p aborts every inbound ping stream 10 s after
            // it opened, go resets one idle for 60 s, and a ping we abandoned leaves ours out of step. One failure on a
            // cached stream is therefore retried once on a fresh stream; only a fresh stream's failure counts.
            for (int attempt = 0; ; attempt++)
            {
                bool fresh = state.Ping is null;
                if (fresh)
                {
                    var stream = await connection.OpenStreamAsync(PingProtocol.Id, cancellationToken).ConfigureAwait(false);
                    state.Ping = new PingClient(stream, _time);
                }
                try
                {
                    return await state.Ping!.PingAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    await state.Ping!.DisposeAsync().ConfigureAwait(false);
                    state.Ping = null;
                    if (fresh || attempt > 0 || !connection.IsOpen)
                        throw;
                }
                catch (OperationCanceledException)
                {
                    // Abandoned mid-round: the stream is out of step, the next ping opens a fresh one.
                    await state.Ping!.DisposeAsync().ConfigureAwait(false);
                    state.Ping = null;
                    throw;
                }
            }
        }
        finally
        {
            pingLock.Release();
        }
    }

    /// <summary>
    /// What the remote said of itself over <c>/ipfs/id/1.0.0</c>: asked once per connection (on connect when
    /// <see cref="P2pHostOptions.IdentifyOnConnect"/>), then cached. The key it sends must be the peer's.
    /// </summary>
    public Task<IdentifyMessage> IdentifyAsync(P2pConnection connection, CancellationToken cancellationToken = default)
    {
        var state = StateOf(connection);
        Task<IdentifyMessage> task;
        // One request per connection at a time: the host (on connect) and the manager ask at once. A failed one (a
        // slow peer, a timeout) is asked again rather than cached for the connection's life.
        lock (state)
        {
            if (state.Identified is { } known)
                return Task.FromResult(known);
            task = state.IdentifyRequest!;
            if (task is null || task.IsFaulted || task.IsCanceled)
            {
                task = RequestIdentifyAsync(connection, state);
                // Whoever waits may give up first: the request's own failure must never go unobserved.
                _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                state.IdentifyRequest = task.IsCompletedSuccessfully ? null : task;
            }
        }
        return task.WaitAsync(cancellationToken);
    }

    private async Task<IdentifyMessage> RequestIdentifyAsync(P2pConnection connection, ConnectionState state)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(_options.StreamNegotiationTimeout);
        await using var stream = await connection.OpenStreamAsync(IdentifyProtocol.Id, timeout.Token).ConfigureAwait(false);
        await stream.CloseWriteAsync(timeout.Token).ConfigureAwait(false);
        var message = await IdentifyProtocol.ReadAsync(stream, timeout.Token).ConfigureAwait(false);
        if (!message.MatchesPeer(connection.RemotePeer))
            throw new P2pProtocolException($"Peer {connection.RemotePeer} sent an identify message with another peer's key.");
        // Keep the message, not the request: the finished task holds its state machine (200 B) for the connection's life.
        lock (state)
        {
            state.Identified = message;
            state.IdentifyRequest = null;
        }
        return message;
    }

    private IdentifyMessage BuildIdentify(P2pConnection connection)
    {
        var listening = _listeners.Keys.SelectMany(l => l.Addresses).Select(a => a.WithoutPeerId()).ToArray();
        return new()
        {
            PublicKey = _identity.PublicKey.ToProtobuf(),
            ListenAddrs = listening.Select(a => a.ToBytes()).ToArray(),
            Protocols = Protocols.ToArray(),
            ObservedAddr = ObservedAddress(connection.RemoteEndPoint),
            ProtocolVersion = _options.ProtocolVersion,
            AgentVersion = _options.AgentVersion,
            SignedPeerRecord = OwnPeerRecord(listening),
        };
    }

    /// <summary>
    /// Our signed peer record (RFC 0003) of the addresses we listen on, as js and go send it in identify: a peer that
    /// prunes another with peer exchange passes it on, so that one can dial us without trusting the middleman. Made once
    /// per set of addresses; its sequence number is the time it was made (Unix ms), so a later set wins.
    /// </summary>
    private byte[]? OwnPeerRecord(Multiaddr[] listening)
    {
        if (listening.Length == 0)
            return null;
        string key = string.Join(' ', listening.Select(a => a.ToString()));
        if (Volatile.Read(ref _ownRecord) is { } cached && cached.Item1 == key)
            return cached.Item2;
        ulong sequence = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var made = Tuple.Create(key, SignedPeerRecord.Seal(_identity, sequence, listening));
        Volatile.Write(ref _ownRecord, made);
        return made.Item2;
    }

    private static byte[]? ObservedAddress(EndPoint remote) => remote switch
    {
        IPEndPoint ip => Multiaddr.FromEndPoint(ip).ToBytes(),
        DnsEndPoint dns => Multiaddr.FromEndPoint(dns).ToBytes(),
        _ => null,
    };

    private Task ServeIdentifyAsync(MuxedStream stream, P2pConnection connection, CancellationToken cancellationToken)
        => IdentifyProtocol.WriteAsync(stream, BuildIdentify(connection), cancellationToken);

    private static Task ServePingAsync(MuxedStream stream, P2pConnection connection, CancellationToken cancellationToken)
        => PingProtocol.HandleAsync(stream, cancellationToken);

    private ConnectionState StateOf(P2pConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return _connections.TryGetValue(connection, out var state)
            ? state
            : throw new MuxerClosedException($"The connection with {connection.RemotePeer} is closed or not this host's.");
    }

    private async Task AcceptLoopAsync(P2pListener listener, TcpTransportListener tcp)
    {
        using var pending = new SemaphoreSlim(_options.MaxPendingInboundUpgrades);
        int failures = 0;
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                await pending.WaitAsync(_stopping.Token).ConfigureAwait(false);
                Socket socket;
                try
                {
                    socket = await tcp.AcceptAsync(_stopping.Token).ConfigureAwait(false);
                    failures = 0;
                }
                catch (P2pException ex) when (!_stopping.IsCancellationRequested)
                {
                    // Transient (out of file descriptors, buffers, memory under a burst): the listener stays, and
                    // tries again after a backoff instead of leaving a bound socket that nobody accepts on.
                    pending.Release();
                    Trace.TraceWarning("QuDag.P2p: accept failed on {0}: {1}", listener.LocalEndPoint, ex.Message);
                    var backoff = TimeSpan.FromMilliseconds(Math.Min(1000, 100 << Math.Min(failures++, 4)));
                    await Task.Delay(backoff, _time, _stopping.Token).ConfigureAwait(false);
                    continue;
                }
                catch
                {
                    pending.Release();
                    throw;
                }
                listener.CountAccepted();
                if (!TryOpenScope(socket, listener, out var scope))
                {
                    pending.Release();
                    continue;
                }
                Started();
                _ = UpgradeInboundAsync(socket, listener, pending, scope!);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The listener or the host is closing.
        }
        finally
        {
            // Wait until the upgrades this loop started have released their slots, so the semaphore outlives them.
            for (int i = 0; i < _options.MaxPendingInboundUpgrades; i++)
                await pending.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            Ended();
        }
    }

    /// <summary>
    /// Reserves the accepted socket's pending connection: the process memory bound, its subnet's pending count, open
    /// count and rate, the transient scope (the cheap checks, here in the accept loop; the system scope's slot is taken
    /// in the connection's own task). False when one refused (the socket is closed and the refusal reported) or the
    /// socket is gone.
    /// </summary>
    private bool TryOpenScope(Socket socket, P2pListener listener, out ConnectionScope? scope)
    {
        scope = null;
        EndPoint? remote = null;
        try
        {
            remote = socket.RemoteEndPoint;
        }
        catch (SocketException)
        {
            // Reset before we looked: nothing to upgrade.
        }
        if (remote is null)
        {
            socket.Dispose();
            return false;
        }
        try
        {
            scope = _resources.OpenPending(inbound: true, remote);
            return true;
        }
        catch (ResourceLimitExceededException refused)
        {
            socket.Dispose();
            listener.CountRefused();
            ReportInboundFailure(remote, refused);
            return false;
        }
    }

    private async Task UpgradeInboundAsync(Socket socket, P2pListener listener, SemaphoreSlim pending, ConnectionScope scope)
    {
        long start = _time.GetTimestamp();
        EndPoint remote = new IPEndPoint(IPAddress.None, 0);
        try
        {
            var local = socket.LocalEndPoint!;
            remote = socket.RemoteEndPoint!;
            if (!_gater.InterceptAccept(local, remote))
            {
                socket.Dispose();
                scope.Dispose();
                ReportInboundFailure(remote, new ConnectionGatedException($"The gater refused the inbound connection from {remote}."));
                return;
            }
            // The system scope's slot, before the handshake: at the limit its owner may close an idle connection to make
            // room (which takes a moment, so not in the accept loop); refused, the remote sees the socket close unanswered.
            try
            {
                await scope.EnterSystemAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (ResourceLimitExceededException)
            {
                listener.CountRefused();
                throw;
            }
            var raw = new TcpStream(socket);
            var connection = await _upgrader.UpgradeInboundAsync(raw, local, remote, start, _stopping.Token, scope).ConfigureAwait(false);
            Adopt(connection); // the connection owns the scope now
        }
        catch (Exception ex)
        {
            // A failed inbound upgrade concerns only that socket (already closed by the upgrader).
            socket.Dispose();
            scope.Dispose();
            if (!_stopping.IsCancellationRequested)
                ReportInboundFailure(remote, ex);
        }
        finally
        {
            pending.Release();
            Ended();
        }
    }

    private void ReportInboundFailure(EndPoint remote, Exception error)
    {
        try
        {
            InboundUpgradeFailed?.Invoke(remote, error);
        }
        catch (Exception ex)
        {
            Trace.TraceWarning("QuDag.P2p: an InboundUpgradeFailed handler threw: {0}", ex);
        }
    }

    private void Adopt(P2pConnection connection)
    {
        var state = new ConnectionState();
        _connections[connection] = state;
        if (Volatile.Read(ref _disposed) != 0)
        {
            _connections.TryRemove(connection, out _);
            _ = connection.DisposeAsync().AsTask();
            throw new ObjectDisposedException(nameof(P2pHost));
        }
        try
        {
            ConnectionOpened?.Invoke(connection);
        }
        catch (Exception ex)
        {
            Trace.TraceWarning("QuDag.P2p: a ConnectionOpened handler threw: {0}", ex);
        }
        Started();
        _ = RunAsync(connection, state);
        if (_options.IdentifyOnConnect && connection.IsOpen)
            _ = IdentifyAsync(connection).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
    }

    /// <summary>
    /// A connection's one task: serves its inbound streams until the session ends (accepting ends with it), then
    /// reports it closed. One task, not a server and a watcher: an idle connection keeps it for its whole life.
    /// </summary>
    private async Task RunAsync(P2pConnection connection, ConnectionState state)
    {
        try
        {
            try
            {
                // No token: accepting ends when the session does (null, not an exception: every close of every
                // connection ends here), and DisposeAsync disposes every connection it adopted. A token would
                // register a callback on the host's source per connection (80 B).
                while (await connection.Session.TryAcceptStreamAsync(CancellationToken.None).ConfigureAwait(false) is { } stream)
                {
                    Started();
                    _ = ServeStreamAsync(stream, connection);
                }
            }
            catch (Exception ex)
            {
                if (ex is not (MuxerClosedException or OperationCanceledException or ObjectDisposedException or IOException))
                    Trace.TraceWarning("QuDag.P2p: accepting streams on {0} failed: {1}", connection, ex);
            }
            await connection.Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _connections.TryRemove(connection, out _);
            if (state.Ping is { } ping)
                await ping.DisposeAsync().ConfigureAwait(false);
            try
            {
                ConnectionClosed?.Invoke(connection);
            }
            catch (Exception ex)
            {
                Trace.TraceWarning("QuDag.P2p: a ConnectionClosed handler threw: {0}", ex);
            }
        }
        finally
        {
            Ended();
        }
    }

    private async Task ServeStreamAsync(MuxedStream stream, P2pConnection connection)
    {
        try
        {
            StreamHandler? handler;
            using (var negotiation = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
            {
                negotiation.CancelAfter(_options.StreamNegotiationTimeout);
                string protocol = await MultistreamSelect.HandleAsync(stream, _handlers.ContainsKey, negotiation.Token).ConfigureAwait(false);
                stream.Protocol = protocol;
                if (!_handlers.TryGetValue(protocol, out handler))
                {
                    stream.Reset();
                    return;
                }
                try
                {
                    stream.Scope?.SetProtocol(protocol);
                }
                catch (ResourceLimitExceededException)
                {
                    // The protocol's stream limit (counted in its scope's Blocked): the remote sees a reset.
                    stream.Reset();
                    return;
                }
            }
            await handler(stream, connection, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // One stream's failure (a hostile negotiation, a handler's error) ends that stream only.
            stream.Reset();
            if (ex is not (OperationCanceledException or IOException or P2pException))
                Trace.TraceWarning("QuDag.P2p: a stream handler failed: {0}", ex);
        }
        finally
        {
            try
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                Ended();
            }
        }
    }

    private async ValueTask StopListenerAsync(P2pListener listener)
    {
        if (_listeners.TryRemove(listener, out var tcp))
            await tcp.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Counts a task about to start; it calls <see cref="Ended"/> last, whatever happens.</summary>
    private void Started() => Interlocked.Increment(ref _running);

    private void Ended()
    {
        if (Interlocked.Decrement(ref _running) == 0)
            _stopped.TrySetResult();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>Stops listening, closes every connection and waits for every task the host started.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _stopping.Cancel();
        foreach (var listener in _listeners.Keys)
            await listener.DisposeAsync().ConfigureAwait(false);
        foreach (var connection in _connections.Keys)
            await connection.DisposeAsync().ConfigureAwait(false);
        Ended(); // the host's own count: what it started has ended when this reaches zero
        await _stopped.Task.ConfigureAwait(false);
        _stopping.Dispose();
        foreach (var security in _security.OfType<IDisposable>())
            security.Dispose();
        if (_ownsIdentity)
            _identity.Dispose();
    }

    /// <summary>What the host keeps per connection; created small, since most connections sit idle.</summary>
    private sealed class ConnectionState
    {
        private SemaphoreSlim? _pingLock;
        public PingClient? Ping;
        public Task<IdentifyMessage>? IdentifyRequest; // while asking (guarded by this)
        public IdentifyMessage? Identified;            // once answered (guarded by this)

        /// <summary>Serialises pings on the cached stream; made on the first ping (a race makes exactly one).</summary>
        public SemaphoreSlim PingLock => Volatile.Read(ref _pingLock)
            ?? Interlocked.CompareExchange(ref _pingLock, new SemaphoreSlim(1, 1), null)
            ?? _pingLock!;
    }
}
