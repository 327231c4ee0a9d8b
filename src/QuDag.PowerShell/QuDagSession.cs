using System.Net;
using QuDag.Network;
using QuDag.Telemetry;

namespace QuDag.PowerShell;

/// <summary>
/// A QuDAG node for PowerShell: a <see cref="ConnectionManager"/> with its identity and listeners. Each runspace
/// gets a default one on first use; <c>New-QuDagSession</c> makes more (embedded peers, thread jobs).
/// </summary>
public sealed class QuDagSession : IDisposable
{
    private static int s_nextId;
    // Messages set aside by a filtered receive, in arrival order; guarded by its own lock.
    private readonly List<PeerMessage> _stash = [];
    // Topics subscribed through the module, joined again when Set-QuDagSession restarts the manager; guarded by itself.
    private readonly HashSet<string> _topics = new(StringComparer.Ordinal);
    private readonly Lock _reconfigure = new();
    private ConnectionManager _manager;
    private NodeIdentity _identity;
    private SessionConfig _config;

    internal QuDagSession(string name, SessionConfig config, NodeIdentity identity, string? identityPath, bool isDefault)
    {
        _config = config;
        Id = Interlocked.Increment(ref s_nextId);
        Name = name;
        IsDefault = isDefault;
        _identity = identity;
        IdentityPath = identityPath;
        _manager = CreateManager(config, identity);
        CreatedAt = DateTimeOffset.Now;
    }

    internal static int PeekNextId() => Volatile.Read(ref s_nextId) + 1;

    /// <summary>
    /// The open session named <paramref name="name"/>: what PowerShell binds -Session 'relay' to (it converts a string
    /// with a type's Parse method). This runspace's session of that name first, else the only one in the process, so
    /// a thread job can name its parent's session.
    /// </summary>
    /// <exception cref="ArgumentException">No open session has that name, or several runspaces have one.</exception>
    public static QuDagSession Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var runspace = System.Management.Automation.Runspaces.Runspace.DefaultRunspace;
        var found = SessionRegistry.FindByName(runspace, name.Trim());
        if (found.Count == 1)
            return found[0];
        if (found.Count > 1)
            throw new ArgumentException($"{found.Count} runspaces have a session named '{name}': pass the session object instead (-Session $session).");
        var open = runspace is null ? [] : SessionRegistry.List(runspace).Select(s => s.Name).ToArray();
        throw new ArgumentException(open.Length == 0
            ? $"No open QuDag session is named '{name}'."
            : $"No open QuDag session is named '{name}'; open sessions: {string.Join(", ", open)}.");
    }

    /// <summary>A number unique in this process.</summary>
    public int Id { get; }

    /// <summary>A name unique in its runspace.</summary>
    public string Name { get; }

    /// <summary>True for the runspace's default session.</summary>
    public bool IsDefault { get; }

    /// <summary>This node's full peer id.</summary>
    public string PeerId => PeerIdArgument.Format(_identity.PeerId);

    /// <summary>The limit on open connections.</summary>
    public int MaxConnections => _config.MaxConnections;

    /// <summary>How long idle connections wait in the pool, in seconds.</summary>
    public int PoolTimeoutSeconds => (int)_config.PoolTimeout.TotalSeconds;

    /// <summary>How long a connect may take before it fails, in seconds.</summary>
    public int ConnectTimeoutSeconds => (int)_config.ConnectTimeout.TotalSeconds;

    /// <summary>A silent connection gets a keepalive PING after this many seconds (0: keepalive off).</summary>
    public int KeepAliveSeconds => (int)_config.KeepAliveInterval.TotalSeconds;

    /// <summary>An unanswered keepalive PING fails the connection after this many seconds.</summary>
    public int KeepAliveTimeoutSeconds => (int)_config.KeepAliveTimeout.TotalSeconds;

    /// <summary>Whether lost connections are redialed for every peer (Connect-QuDagPeer -AutoReconnect sets it per peer).</summary>
    public bool AutoReconnect => _config.AutoReconnect;

    /// <summary>Consecutive failed dials that open a peer's circuit breaker (0: off).</summary>
    public int CircuitBreakerThreshold => _config.CircuitBreakerThreshold;

    /// <summary>How long an open circuit fails connects fast, in seconds.</summary>
    public int CircuitBreakerSeconds => (int)_config.CircuitBreakerDuration.TotalSeconds;

    /// <summary>How long a request on /qudag/req/1.0.0 waits for its answer, and an inbound one for ours, in seconds.</summary>
    public int RequestTimeoutSeconds => (int)_config.RequestTimeout.TotalSeconds;

    /// <summary>The file the identity was loaded from, if any.</summary>
    public string? IdentityPath { get; private set; }

    /// <summary>The connection count trims bring the node down to; 0: trims are off.</summary>
    public int LowWater => _config.LowWater;

    /// <summary>Above this many open connections the node trims the lowest-value ones to LowWater; 0: trims are off.</summary>
    public int HighWater => _config.HighWater;

    /// <summary>A connection younger than this is never trimmed, in seconds.</summary>
    public int GracePeriodSeconds => (int)_config.GracePeriod.TotalSeconds;

    /// <summary>The DHT mode: Off, Client or Server.</summary>
    public string DhtMode => _config.DhtMode.ToString();

    /// <summary>The DHT's protocol id.</summary>
    public string DhtProtocol => _config.DhtProtocol;

    /// <summary>The peers the DHT joins through.</summary>
    public string[] Bootstrap => _config.Bootstrap.Select(a => a.ToString()).ToArray();

    /// <summary>Peers in the DHT's routing table (0 with the DHT off).</summary>
    public int DhtPeers => IsDisposed ? 0 : _manager.Dht?.RoutingTable.Count ?? 0;

    /// <summary>The gossipsub heartbeat, in seconds.</summary>
    public int GossipHeartbeatSeconds => (int)_config.GossipHeartbeat.TotalSeconds;

    /// <summary>How gossip message ids are made: Rust, Js or Go.</summary>
    public string GossipMessageId => _config.GossipMessageId;

    /// <summary>Peers scoring below it get no gossip and their IHAVE/IWANT are ignored.</summary>
    public double GossipThreshold => _config.GossipThresholds.GossipThreshold;

    /// <summary>Peers scoring below it are not published to.</summary>
    public double PublishThreshold => _config.GossipThresholds.PublishThreshold;

    /// <summary>Peers scoring below it are ignored.</summary>
    public double GraylistThreshold => _config.GossipThresholds.GraylistThreshold;

    /// <summary>Peer exchange is taken only from peers scoring at least this.</summary>
    public double AcceptPXThreshold => _config.GossipThresholds.AcceptPXThreshold;

    /// <summary>Opportunistic grafting runs when the mesh's median score is below this.</summary>
    public double OpportunisticGraftThreshold => _config.GossipThresholds.OpportunisticGraftThreshold;

    /// <summary>Whether this node offers other peers in its PRUNEs (peer exchange).</summary>
    public bool GossipPeerExchange => _config.GossipPeerExchange;

    /// <summary>Peers whose peer exchange is believed (they score AcceptPXThreshold).</summary>
    public string[] TrustedGossipPeers => _config.TrustedGossipPeers.Select(p => p.ToString()).ToArray();

    /// <summary>Endpoints this session accepts connections on (host:port).</summary>
    public string[] Listeners => IsDisposed ? [] : _manager.Listeners.Select(l => AddressArgument.Format(l.LocalEndPoint)!).ToArray();

    /// <summary>Open sockets right now.</summary>
    public int OpenConnections => IsDisposed ? 0 : _manager.OpenConnections;

    /// <summary>Peers in the session's address book.</summary>
    public int KnownPeers => IsDisposed ? 0 : _manager.GetPeers().Count;

    /// <summary>When the session was created.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>True once closed (Remove-QuDagSession, Remove-Module, runspace close).</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Why the session closed; <see cref="SessionCloseReason.Open"/> while it is open.</summary>
    public SessionCloseReason CloseReason { get; private set; }

    /// <summary>The connection manager, for scripts that want the .NET API.</summary>
    public ConnectionManager Manager => IsDisposed ? throw ClosedException() : _manager;

    /// <summary>What any use of the closed session throws: it names the session and says why it closed.</summary>
    internal QuDagSessionClosedException ClosedException() => new(Name, CloseReason);

    /// <summary>What the session's metrics are exported to (Start-QuDagMetricsExporter); null when nothing.</summary>
    public MetricsExporter? MetricsExporter => Volatile.Read(ref _exporter);

    private MetricsExporter? _exporter;

    /// <summary>Starts exporting; the session stops it when it closes and restarts it when its manager is replaced.</summary>
    internal MetricsExporter StartExporter(QuDagExporterOptions options)
    {
        if (MetricsExporter is { } running)
            throw AlreadyExporting(running);
        var exporter = QuDagTelemetry.StartExporter(Manager, options);
        if (Interlocked.CompareExchange(ref _exporter, exporter, null) is { } raced)
        {
            exporter.Dispose();
            throw AlreadyExporting(raced);
        }
        return exporter;
    }

    private InvalidOperationException AlreadyExporting(MetricsExporter running) =>
        new($"The session '{Name}' already exports its metrics ({running}): Stop-QuDagMetricsExporter first.");

    /// <summary>Stops the exporter, if one runs; returns it.</summary>
    internal MetricsExporter? StopExporter()
    {
        var exporter = Interlocked.Exchange(ref _exporter, null);
        exporter?.Dispose();
        return exporter;
    }

    /// <summary>The allow and deny lists (Block-QuDagPeer, Unblock-QuDagPeer); they survive Set-QuDagSession.</summary>
    public ConnectionGater Gater { get; } = new();

    internal SessionConfig Config => _config;

    internal PeerId LocalPeerId => _identity.PeerId;

    private ConnectionManager CreateManager(SessionConfig config, NodeIdentity identity)
    {
        var options = config.ToOptions();
        options.Identity = identity;
        options.Gater = Gater;
        return new ConnectionManager(options);
    }

    /// <summary>Takes new settings in place: connections, listeners and the address book stay.</summary>
    internal void Apply(SessionConfig next)
    {
        lock (_reconfigure)
        {
            next.ApplyTo(Manager);
            _config = next;
        }
    }

    /// <summary>
    /// Starts a new manager with <paramref name="next"/> (and a new identity when given): every connection closes.
    /// With <paramref name="keepAddressBook"/> the peers' endpoints, their auto-reconnect choice and the listeners'
    /// endpoints carry over; otherwise the session starts empty (Reset-QuDagSession). Returns listener endpoints
    /// that could not be bound again.
    /// </summary>
    internal IReadOnlyList<string> Restart(SessionConfig next, NodeIdentity? identity, string? identityPath, bool keepAddressBook)
    {
        lock (_reconfigure)
        {
            var old = Manager;
            var oldIdentity = _identity;
            var peers = keepAddressBook ? old.GetPeers().Where(p => p.Endpoint is not null).ToArray() : [];
            var listeners = keepAddressBook ? old.Listeners.Select(l => l.LocalEndPoint).ToArray() : [];
            old.DisposeAsync().AsTask().GetAwaiter().GetResult(); // frees the listeners' ports before they bind again
            _config = next;
            if (identity is not null)
            {
                _identity = identity;
                IdentityPath = identityPath;
            }
            _manager = CreateManager(next, _identity);
            lock (_stash)
                _stash.Clear();
            lock (_topics)
            {
                foreach (var topic in keepAddressBook ? _topics : [])
                    _manager.SubscribeTopic(topic);
                if (!keepAddressBook)
                    _topics.Clear();
            }
            foreach (var peer in peers)
            {
                _manager.AddPeer(peer.PeerId, peer.Endpoint!);
                if (peer.AutoReconnect && !next.AutoReconnect)
                    _manager.SetAutoReconnect(peer.PeerId, true);
            }
            var failed = new List<string>();
            foreach (var endPoint in listeners)
            {
                try
                {
                    _manager.ListenAsync(endPoint).GetAwaiter().GetResult();
                }
                catch (Exception ex) when (ex is System.Net.Sockets.SocketException || ex.InnerException is System.Net.Sockets.SocketException)
                {
                    failed.Add(endPoint.ToString());
                }
            }
            // The exporter read the old manager's meter: move it to the new one, with the same settings.
            if (StopExporter() is { } exporter)
            {
                try
                {
                    StartExporter(exporter.Options);
                }
                catch (MetricsExporterException)
                {
                    // Its port was taken meanwhile: the session shows no exporter, and Start-QuDagMetricsExporter says why.
                }
            }
            if (!ReferenceEquals(oldIdentity, _identity))
                oldIdentity.Dispose();
            return failed;
        }
    }

    /// <summary>Keeps the topics the module subscribed, so a restart of the manager joins them again.</summary>
    internal void RememberTopic(string topic, bool subscribed)
    {
        lock (_topics)
        {
            if (subscribed)
                _topics.Add(topic);
            else
                _topics.Remove(topic);
        }
    }

    /// <summary>
    /// The next message, from <paramref name="from"/> if given. Messages from other peers that arrive meanwhile
    /// are kept for later receives, so filtering loses nothing.
    /// </summary>
    internal async Task<PeerMessage> ReceiveAsync(PeerId? from, CancellationToken cancellationToken)
    {
        lock (_stash)
        {
            var index = _stash.FindIndex(m => from is null || m.PeerId == from);
            if (index >= 0)
            {
                var kept = _stash[index];
                _stash.RemoveAt(index); // the rest keep their order
                return kept;
            }
        }
        while (true)
        {
            var message = await Manager.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            if (from is null || message.PeerId == from)
                return message;
            lock (_stash)
                _stash.Add(message);
        }
    }

    /// <summary>Closes every connection and listener, and forgets every peer.</summary>
    public void Dispose() => Close(SessionCloseReason.Disposed);

    /// <summary><see cref="Dispose"/>, remembering why, so later errors can say it.</summary>
    internal void Close(SessionCloseReason reason)
    {
        lock (_reconfigure)
        {
            if (IsDisposed)
                return;
            CloseReason = reason;
            IsDisposed = true;
            StopExporter();
            _manager.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _identity.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({_identity.PeerId.ToShortString()})";
}

/// <summary>Why a session closed.</summary>
public enum SessionCloseReason
{
    /// <summary>It is open.</summary>
    Open,

    /// <summary>Its Dispose method was called.</summary>
    Disposed,

    /// <summary>Remove-QuDagSession removed it.</summary>
    Removed,

    /// <summary>Remove-Module QuDag closed the sessions of its runspace.</summary>
    ModuleRemoved,

    /// <summary>The runspace that owned it closed.</summary>
    RunspaceClosed,
}

/// <summary>
/// A use of a closed session: names the session and says how it closed. Its message is only that (an
/// <see cref="ObjectDisposedException"/> would add "Object name: '...'"), so scripts that print it read plain words.
/// </summary>
public sealed class QuDagSessionClosedException : ObjectDisposedException
{
    internal QuDagSessionClosedException(string sessionName, SessionCloseReason reason)
        : base(sessionName)
    {
        SessionName = sessionName;
        Reason = reason;
    }

    /// <summary>The closed session's name.</summary>
    public string SessionName { get; }

    /// <summary>How it closed.</summary>
    public SessionCloseReason Reason { get; }

    /// <inheritdoc/>
    public override string Message => $"The QuDag session '{SessionName}' {Reason switch
    {
        SessionCloseReason.Removed => "was removed (Remove-QuDagSession)",
        SessionCloseReason.ModuleRemoved => "was closed when the QuDag module was removed (Remove-Module)",
        SessionCloseReason.RunspaceClosed => "was closed with the runspace that made it",
        _ => "was closed",
    }}; use Get-QuDagSession or New-QuDagSession for an open one.";
}
