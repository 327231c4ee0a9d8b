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
    private ConnectionManager _manager;
    private NodeIdentity _identity;
    private ResilienceSettings _resilience;

    internal QuDagSession(string? name, int maxConnections, TimeSpan poolTimeout, NodeIdentity identity, string? identityPath, bool isDefault,
        ResilienceSettings? resilience = null)
    {
        _resilience = resilience ?? new ResilienceSettings();
        Id = Interlocked.Increment(ref s_nextId);
        Name = name ?? (isDefault ? "Default" : $"Session{Id}");
        IsDefault = isDefault;
        _identity = identity;
        IdentityPath = identityPath;
        _manager = CreateManager(maxConnections, poolTimeout, identity);
        CreatedAt = DateTimeOffset.Now;
    }

    /// <summary>A number unique in this process.</summary>
    public int Id { get; }

    /// <summary>A name for display.</summary>
    public string Name { get; }

    /// <summary>True for the runspace's default session.</summary>
    public bool IsDefault { get; }

    /// <summary>This node's peer id.</summary>
    public PeerId PeerId => _identity.PeerId;

    /// <summary>The limit on open connections.</summary>
    public int MaxConnections => _manager.MaxConnections;

    /// <summary>How long idle connections wait in the pool.</summary>
    public TimeSpan PoolTimeout => _manager.PoolTimeout;

    /// <summary>The file the identity was loaded from, if any.</summary>
    public string? IdentityPath { get; private set; }

    /// <summary>Endpoints this session accepts connections on.</summary>
    public IPEndPoint[] Listeners => _manager.Listeners.Select(l => l.LocalEndPoint).ToArray();

    /// <summary>Open sockets right now.</summary>
    public int OpenConnections => _manager.OpenConnections;

    /// <summary>When the session was created.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>True once disposed.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>The connection manager, for scripts that want the .NET API.</summary>
    public ConnectionManager Manager => IsDisposed ? throw new ObjectDisposedException(Name, $"The QuDag session '{Name}' was closed.") : _manager;

    internal ResilienceSettings Resilience => _resilience;

    /// <summary>Keepalive interval: a silent connection gets a PING after this long (zero: keepalive off).</summary>
    public TimeSpan KeepAliveInterval => _resilience.KeepAliveInterval;

    /// <summary>Keepalive timeout: an unanswered PING fails the connection after this long.</summary>
    public TimeSpan KeepAliveTimeout => _resilience.KeepAliveTimeout;

    /// <summary>Whether lost connections are redialed for every peer (Connect-QuDagPeer -AutoReconnect sets it per peer).</summary>
    public bool AutoReconnect => _resilience.AutoReconnect;

    /// <summary>Consecutive failed dials that open a peer's circuit breaker (0: off).</summary>
    public int CircuitBreakerThreshold => _resilience.CircuitBreakerThreshold;

    /// <summary>How long an open circuit fails connects fast.</summary>
    public TimeSpan CircuitBreakerDuration => _resilience.CircuitBreakerDuration;

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

    private ConnectionManager CreateManager(int maxConnections, TimeSpan poolTimeout, NodeIdentity identity)
    {
        var options = _resilience.ToOptions();
        options.MaxConnections = maxConnections;
        options.PoolTimeout = poolTimeout;
        options.Identity = identity;
        options.Gater = Gater;
        return new ConnectionManager(options);
    }

    /// <summary>Replaces the manager with a new one (closing every connection), keeping or replacing the identity.</summary>
    internal void Reconfigure(int maxConnections, TimeSpan poolTimeout, NodeIdentity? identity, string? identityPath, ResilienceSettings? resilience = null)
    {
        var old = _manager;
        var oldIdentity = _identity;
        if (resilience is not null)
            _resilience = resilience;
        _manager = CreateManager(maxConnections, poolTimeout, identity ?? _identity);
        if (identity is not null)
        {
            _identity = identity;
            IdentityPath = identityPath;
        }
        lock (_stash)
            _stash.Clear();
        // The exporter reads the old manager's meter: move it to the new one, with the same settings.
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
        old.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (!ReferenceEquals(oldIdentity, _identity))
            oldIdentity.Dispose();
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
    public void Dispose()
    {
        if (IsDisposed)
            return;
        IsDisposed = true;
        StopExporter();
        _manager.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _identity.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({PeerId.Short})";
}
