using QuDag.P2p.Host;
using QuDag.P2p.Protocols.Kad;

namespace QuDag.Network;

/// <summary>Settings of a <see cref="ConnectionManager"/>.</summary>
public sealed class ConnectionManagerOptions
{
    /// <summary>The smallest <see cref="MaxFrameSize"/> allowed: 1 KiB.</summary>
    public const int MinimumMaxFrameSize = 1024;

    /// <summary>The seed's pool timeout: 5 minutes.</summary>
    public static readonly TimeSpan DefaultPoolTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The longest timeout or interval the manager runs with: what a .NET timer (CancelAfter, Task.Delay, ITimer)
    /// accepts, 2^32-2 ms (about 49.7 days). Beyond it a connect or request would fail with the timer's own error.
    /// </summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>The longest reconnect delay: what Polly's retry (the reconnect backoff) accepts, 1 day.</summary>
    public static readonly TimeSpan MaxPolicyDelay = TimeSpan.FromDays(1);

    /// <summary>Open connections allowed at once: handshaking, active and idle pooled, inbound and outbound (the host's
    /// system resource scope counts them, and this is its connection limit). Default 100.</summary>
    public int MaxConnections { get; set; } = 100;

    /// <summary>How long a disconnected live connection waits in the idle pool (sliding). Zero disables the pool.</summary>
    public TimeSpan PoolTimeout { get; set; } = DefaultPoolTimeout;

    /// <summary>
    /// One deadline for a connection's whole setup: an outbound connect (TCP, security, muxer) together, an inbound
    /// upgrade from its accept. A connect past it fails with <see cref="ConnectFailureKind.Timeout"/>, is counted, and
    /// counts toward the peer's circuit breaker. Default 10 s.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest message (<see cref="ConnectionManager.SendAsync"/>) accepted or sent. Default 1 MiB.</summary>
    public int MaxFrameSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// Inbound DATA messages buffered for <see cref="ConnectionManager.ReceiveAsync"/>. When full, connections
    /// stop reading, so TCP pushes back on the senders: nothing is dropped. Default 4096.
    /// </summary>
    public int ReceiveQueueCapacity { get; set; } = 4096;

    /// <summary>
    /// Security protocols in order of preference: "/noise" (what rust-libp2p QuDAG nodes speak) and "/tls/1.0.0".
    /// The first the remote also speaks is used.
    /// </summary>
    public IReadOnlyList<string> Security { get; set; } = [SecurityProtocols.Noise, SecurityProtocols.Tls];

    /// <summary>Ask every connected peer who it is (identify: agent, protocols, listen addresses). Default on.</summary>
    public bool IdentifyPeers { get; set; } = true;

    /// <summary>How long a <c>/qudag/req/1.0.0</c> request may take, both ways (rust-libp2p's default: 10 s).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Inbound requests queued for <see cref="ConnectionManager.ReceiveRequestAsync"/> when no handler is set; more are refused. Default 256.</summary>
    public int RequestQueueCapacity { get; set; } = 256;

    /// <summary>The node's identity; a new ephemeral one when null. The manager does not dispose one it was given.</summary>
    public NodeIdentity? Identity { get; set; }

    /// <summary>The clock for pool expiry, timeouts, keepalive, backoff and metric windows. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// A connection (active or pooled) that received nothing for this long is sent a PING. Default 15 s;
    /// <see cref="TimeSpan.Zero"/> turns keepalive off.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A keepalive PING answered by nothing for this long fails the connection, so a dead or half-open peer is
    /// found within <see cref="KeepAliveInterval"/> + <see cref="KeepAliveTimeout"/> (plus two check periods, <see cref="ConnectionManager.KeepAlivePeriod"/>). Default 20 s.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Reconnect peers whose connection is lost (not disconnected on purpose). Default off; per peer with
    /// <see cref="ConnectionManager.SetAutoReconnect"/>.</summary>
    public bool AutoReconnect { get; set; }

    /// <summary>The first reconnect backoff, doubled after each failure (go-libp2p's spirit). Default 5 s.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The cap on the reconnect backoff. Default 5 minutes.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Randomise reconnect delays (decorrelated jitter), so peers that lost the same node do not redial in step. Default on.</summary>
    public bool ReconnectJitter { get; set; } = true;

    /// <summary>
    /// Consecutive failed dials to a peer that open its circuit breaker (QuDAG's default: 5). While open, connects to it
    /// fail fast with <see cref="PeerCircuitOpenException"/>. 0 turns the breaker off; otherwise at least 2.
    /// </summary>
    public int CircuitBreakerFailureThreshold { get; set; } = 5;

    /// <summary>How long an open circuit fails connects fast before it lets one trial dial through. Default 60 s.</summary>
    public TimeSpan CircuitBreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Peers known only from their own inbound connections (never named through the API: the address book, a connect,
    /// a status update, a subscription, a reconnect setting) that the manager still lists after they disconnect, with
    /// their last status and identify data. Beyond it, the longest gone are forgotten (their status reads null again),
    /// so remotes connecting with ever fresh ids cannot grow the peer table without bound. Default 256 (at most
    /// 64 KiB of identify data each); 0 forgets them as they leave.
    /// </summary>
    public int MaxDisconnectedInboundPeers { get; set; } = 256;

    /// <summary>
    /// Inbound connections one remote address (IPv6: one /64) may have in their handshake at once, so that one address
    /// cannot hold every upgrade slot; a socket beyond it is closed at once and counted as a failed inbound connection.
    /// Default 8; raise it for a node that many peers reach through one NAT address.
    /// </summary>
    public int MaxPendingInboundUpgradesPerAddress { get; set; } = 8;

    /// <summary>
    /// Gossipsub's settings (mesh degrees, heartbeat, caches, scoring, message ids). Defaults are rust-libp2p's with
    /// QuDAG's 10 s heartbeat and rust's message ids; the manager's <see cref="TimeProvider"/> replaces the one given here.
    /// </summary>
    public QuDag.P2p.Protocols.Gossipsub.GossipsubOptions Gossipsub { get; set; } = new() { HeartbeatInterval = TimeSpan.FromSeconds(10) };

    /// <summary>Received messages kept per subscribed topic for <see cref="ConnectionManager.ReceiveTopicAsync"/>; past it the oldest are dropped (counted). Default 4096.</summary>
    public int TopicQueueCapacity { get; set; } = 4096;

    /// <summary>Allow and deny lists of peers, inbound and outbound. Default: everyone allowed.</summary>
    public ConnectionGater Gater { get; set; } = new();

    // ---- connection policy: watermarks, grace, trims (go-libp2p's connmgr) ----------------------------------------

    /// <summary>
    /// The connection count trims bring the node down to (go-libp2p's low watermark). 0 (the default), or a
    /// <see cref="HighWater"/> of 0, turns automatic trims off.
    /// </summary>
    public int LowWater { get; set; }

    /// <summary>
    /// Above this many open connections (active and pooled, both ways) the manager trims the lowest-value ones past their
    /// <see cref="GracePeriod"/> until <see cref="LowWater"/> remain, protected peers aside; at most once per
    /// <see cref="SilencePeriod"/>. 0 (the default) turns automatic trims off.
    /// </summary>
    public int HighWater { get; set; }

    /// <summary>A new connection is never trimmed before it is this old. Default 1 minute, as go-libp2p.</summary>
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Automatic trims run at most once per this period (and a check runs every period). Default 10 s, as go-libp2p.</summary>
    public TimeSpan SilencePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// At <see cref="MaxConnections"/> with no idle pooled connection to close, a connect trims the lowest-value
    /// unprotected connection past its grace period instead of failing. Default off.
    /// </summary>
    public bool TrimAtLimit { get; set; }

    /// <summary>
    /// The resource scopes' limits (system, transient, peer, protocol, memory, per-subnet inbound count and rate,
    /// allowlist, process memory bound); the machine's scaled defaults unless set. <see cref="MaxConnections"/> is the
    /// system scope's connection limit (pending and established). Fixed at start; change limits live through <see cref="ConnectionManager.Resources"/>.
    /// </summary>
    public QuDag.P2p.Resources.ResourceManagerOptions Resources { get; set; } = new();

    /// <summary>
    /// The Kademlia DHT: Off (default), Client (lookups, a routing table of the kad servers it meets; does not answer, so
    /// identify does not announce kad, as QuDAG's nodes run) or Server (also answers, and identify announces it).
    /// </summary>
    public KadMode DhtMode { get; set; } = KadMode.Off;

    /// <summary>The DHT's protocol id: <c>/ipfs/kad/1.0.0</c> (QuDAG's and IPFS's); a private network picks its own.</summary>
    public string DhtProtocolId { get; set; } = KadProtocol.DefaultId;

    /// <summary>Peers to join the DHT through (multiaddrs ending in <c>/p2p/&lt;id&gt;</c>); used at start and whenever the routing table is empty.</summary>
    public IReadOnlyList<Multiaddr> DhtBootstrap { get; set; } = [];

    /// <summary>The DHT's finer settings (k, alpha, timeouts, store bounds); <see cref="DhtProtocolId"/> overrides its protocol id.</summary>
    public KadOptions Dht { get; set; } = new();

    /// <summary>
    /// The settings <see cref="ConnectionManager.Reconfigure"/> changes on a running manager. Every other setting is
    /// fixed for the manager's life (its identity, clock, security protocols, queue sizes): change it with a new manager.
    /// </summary>
    public static IReadOnlyCollection<string> LiveSettings { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        nameof(MaxConnections), nameof(PoolTimeout), nameof(ConnectTimeout), nameof(KeepAliveInterval), nameof(KeepAliveTimeout),
        nameof(AutoReconnect), nameof(ReconnectDelay), nameof(ReconnectMaxDelay), nameof(ReconnectJitter),
        nameof(CircuitBreakerFailureThreshold), nameof(CircuitBreakerBreakDuration), nameof(RequestTimeout), nameof(IdentifyPeers),
        nameof(LowWater), nameof(HighWater), nameof(GracePeriod), nameof(SilencePeriod), nameof(TrimAtLimit),
    };

    /// <summary>A copy of these settings (the gater and identity are shared, not copied).</summary>
    public ConnectionManagerOptions Clone() => (ConnectionManagerOptions)MemberwiseClone();

    /// <summary>The settings that differ between two option sets and cannot change on a running manager.</summary>
    internal static IEnumerable<string> FixedSettingsChanged(ConnectionManagerOptions current, ConnectionManagerOptions next) =>
        typeof(ConnectionManagerOptions).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
            .Where(p => p.CanWrite && !LiveSettings.Contains(p.Name) && !Equals(p.GetValue(current), p.GetValue(next)))
            .Select(p => p.Name);

    /// <summary>Checks every setting, as the manager's constructor does.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range; its name is the parameter name.</exception>
    /// <exception cref="ArgumentNullException">The time provider or the gater is null.</exception>
    public void Validate()
    {
        if (MaxConnections < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "MaxConnections must be at least 1.");
        if (PoolTimeout < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(PoolTimeout), PoolTimeout, "PoolTimeout cannot be negative.");
        if (ConnectTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), ConnectTimeout, "ConnectTimeout must be positive.");
        if (MaxFrameSize < MinimumMaxFrameSize)
            throw new ArgumentOutOfRangeException(nameof(MaxFrameSize), MaxFrameSize, $"MaxFrameSize must be at least {MinimumMaxFrameSize} bytes.");
        ArgumentNullException.ThrowIfNull(Security);
        if (RequestTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(RequestTimeout), RequestTimeout, "RequestTimeout must be positive.");
        if (RequestQueueCapacity < 1)
            throw new ArgumentOutOfRangeException(nameof(RequestQueueCapacity), RequestQueueCapacity, "RequestQueueCapacity must be at least 1.");
        if (Security.Count == 0 || Security.Any(s => s is not (SecurityProtocols.Noise or SecurityProtocols.Tls)))
            throw new ArgumentOutOfRangeException(nameof(Security), string.Join(",", Security), $"Security must name {SecurityProtocols.Noise}, {SecurityProtocols.Tls} or both.");
        if (ReceiveQueueCapacity < 1)
            throw new ArgumentOutOfRangeException(nameof(ReceiveQueueCapacity), ReceiveQueueCapacity, "ReceiveQueueCapacity must be at least 1.");
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(Gater);
        ArgumentNullException.ThrowIfNull(Gossipsub);
        Gossipsub.Validate();
        if (TopicQueueCapacity < 1)
            throw new ArgumentOutOfRangeException(nameof(TopicQueueCapacity), TopicQueueCapacity, "TopicQueueCapacity must be at least 1.");
        if (MaxPendingInboundUpgradesPerAddress < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxPendingInboundUpgradesPerAddress), MaxPendingInboundUpgradesPerAddress,
                "MaxPendingInboundUpgradesPerAddress must be at least 1.");
        ArgumentNullException.ThrowIfNull(DhtBootstrap);
        ArgumentNullException.ThrowIfNull(Dht);
        if (!Enum.IsDefined(DhtMode))
            throw new ArgumentOutOfRangeException(nameof(DhtMode), DhtMode, "DhtMode must be Off, Client or Server.");
        if (DhtBootstrap.FirstOrDefault(a => a is null || a.PeerId is null) is { } unnamed)
            throw new ArgumentOutOfRangeException(nameof(DhtBootstrap), unnamed?.ToString(), "Every bootstrap address must end in /p2p/<peer id>.");
        (Dht with { ProtocolId = DhtProtocolId }).Validate();
        if (MaxDisconnectedInboundPeers < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxDisconnectedInboundPeers), MaxDisconnectedInboundPeers, "MaxDisconnectedInboundPeers cannot be negative.");
        if (KeepAliveInterval < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(KeepAliveInterval), KeepAliveInterval, "KeepAliveInterval cannot be negative.");
        if (KeepAliveInterval > TimeSpan.Zero && KeepAliveTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(KeepAliveTimeout), KeepAliveTimeout, "KeepAliveTimeout must be positive.");
        if (ReconnectDelay <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ReconnectDelay), ReconnectDelay, "ReconnectDelay must be positive.");
        if (ReconnectMaxDelay < ReconnectDelay)
            throw new ArgumentOutOfRangeException(nameof(ReconnectMaxDelay), ReconnectMaxDelay, "ReconnectMaxDelay cannot be below ReconnectDelay.");
        if (CircuitBreakerFailureThreshold is < 0 or 1)
            throw new ArgumentOutOfRangeException(nameof(CircuitBreakerFailureThreshold), CircuitBreakerFailureThreshold,
                "CircuitBreakerFailureThreshold must be 0 (off) or at least 2.");
        if (LowWater < 0)
            throw new ArgumentOutOfRangeException(nameof(LowWater), LowWater, "LowWater cannot be negative.");
        if (HighWater < 0)
            throw new ArgumentOutOfRangeException(nameof(HighWater), HighWater, "HighWater cannot be negative.");
        if (HighWater > 0 && LowWater > HighWater)
            throw new ArgumentOutOfRangeException(nameof(LowWater), LowWater, $"LowWater cannot be above HighWater ({HighWater}).");
        if (GracePeriod < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(GracePeriod), GracePeriod, "GracePeriod cannot be negative.");
        if (SilencePeriod <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(SilencePeriod), SilencePeriod, "SilencePeriod must be positive.");
        ArgumentNullException.ThrowIfNull(Resources);
        Resources.Validate();
        if (CircuitBreakerFailureThreshold > 0 && CircuitBreakerBreakDuration < TimeSpan.FromMilliseconds(500))
            throw new ArgumentOutOfRangeException(nameof(CircuitBreakerBreakDuration), CircuitBreakerBreakDuration,
                "CircuitBreakerBreakDuration must be at least 0.5 s.");
        AtMost(PoolTimeout, MaxTimeout, nameof(PoolTimeout));
        AtMost(ConnectTimeout, MaxTimeout, nameof(ConnectTimeout));
        AtMost(RequestTimeout, MaxTimeout, nameof(RequestTimeout));
        AtMost(KeepAliveInterval, MaxTimeout, nameof(KeepAliveInterval));
        AtMost(KeepAliveTimeout, MaxTimeout, nameof(KeepAliveTimeout));
        AtMost(ReconnectDelay, MaxPolicyDelay, nameof(ReconnectDelay));
        AtMost(ReconnectMaxDelay, MaxPolicyDelay, nameof(ReconnectMaxDelay));
        AtMost(CircuitBreakerBreakDuration, MaxTimeout, nameof(CircuitBreakerBreakDuration));
    }

    private static void AtMost(TimeSpan value, TimeSpan maximum, string name)
    {
        if (value > maximum)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at most {maximum:d\\.hh\\:mm\\:ss\\.fff} (d.hh:mm:ss).");
    }
}
