using QuDag.Network;
using QuDag.P2p.Protocols.Gossipsub;
using QuDag.P2p.Protocols.Kad;

namespace QuDag.PowerShell;

/// <summary>A session's settings, in the units the cmdlets take; kept across Set-QuDagSession.</summary>
internal sealed record SessionConfig
{
    private static readonly ConnectionManagerOptions Defaults = new();

    public int MaxConnections { get; init; } = Defaults.MaxConnections;

    public TimeSpan PoolTimeout { get; init; } = Defaults.PoolTimeout;

    public TimeSpan ConnectTimeout { get; init; } = Defaults.ConnectTimeout;

    public TimeSpan KeepAliveInterval { get; init; } = Defaults.KeepAliveInterval;

    public TimeSpan KeepAliveTimeout { get; init; } = Defaults.KeepAliveTimeout;

    public bool AutoReconnect { get; init; } = Defaults.AutoReconnect;

    public int CircuitBreakerThreshold { get; init; } = Defaults.CircuitBreakerFailureThreshold;

    public TimeSpan CircuitBreakerDuration { get; init; } = Defaults.CircuitBreakerBreakDuration;

    public TimeSpan RequestTimeout { get; init; } = Defaults.RequestTimeout;

    // ---- connection policy: watermarks and grace (trims) ----

    public int LowWater { get; init; } = Defaults.LowWater;

    public int HighWater { get; init; } = Defaults.HighWater;

    public TimeSpan GracePeriod { get; init; } = Defaults.GracePeriod;

    // ---- the DHT (Kademlia) ----

    public KadMode DhtMode { get; init; } = Defaults.DhtMode;

    public string DhtProtocol { get; init; } = Defaults.DhtProtocolId;

    public IReadOnlyList<Multiaddr> Bootstrap { get; init; } = Defaults.DhtBootstrap;

    // ---- gossipsub ----

    public TimeSpan GossipHeartbeat { get; init; } = Defaults.Gossipsub.HeartbeatInterval;

    /// <summary>The message id function's name: Rust (QuDAG's), Js or Go.</summary>
    public string GossipMessageId { get; init; } = "Rust";

    public PeerScoreThresholds GossipThresholds { get; init; } = Defaults.Gossipsub.Thresholds;

    /// <summary>Offer other peers (with their signed peer records) in our PRUNEs, as a bootstrapper does.</summary>
    public bool GossipPeerExchange { get; init; } = Defaults.Gossipsub.DoPeerExchange;

    /// <summary>Peers whose peer exchange is believed (bootstrappers): they get the P5 score AcceptPXThreshold asks.</summary>
    public IReadOnlyList<PeerId> TrustedGossipPeers { get; init; } = [];

    /// <summary>The router's settings: the manager's defaults with the session's gossip settings.</summary>
    private GossipsubOptions GossipOptions()
    {
        var trusted = TrustedGossipPeers.ToHashSet();
        var score = Defaults.Gossipsub.Score ?? new PeerScoreParams();
        // A trusted peer's P5 lifts a fresh score (about 0) to AcceptPXThreshold; misbehaviour (P4, P7) still pulls it down.
        double trust = GossipThresholds.AcceptPXThreshold / score.AppSpecificWeight;
        return Defaults.Gossipsub with
        {
            HeartbeatInterval = GossipHeartbeat,
            MessageId = MessageIdFunctions.Named(GossipMessageId),
            Thresholds = GossipThresholds,
            DoPeerExchange = GossipPeerExchange,
            Score = trusted.Count == 0 ? score : score with { AppSpecificScore = peer => trusted.Contains(peer) ? trust : 0 },
        };
    }

    /// <summary>Options carrying these settings; the caller adds identity and gater.</summary>
    public ConnectionManagerOptions ToOptions() => new()
    {
        MaxConnections = MaxConnections,
        PoolTimeout = PoolTimeout,
        ConnectTimeout = ConnectTimeout,
        KeepAliveInterval = KeepAliveInterval,
        KeepAliveTimeout = KeepAliveTimeout,
        AutoReconnect = AutoReconnect,
        CircuitBreakerFailureThreshold = CircuitBreakerThreshold,
        CircuitBreakerBreakDuration = CircuitBreakerDuration,
        RequestTimeout = RequestTimeout,
        DhtMode = DhtMode,
        DhtProtocolId = DhtProtocol,
        DhtBootstrap = Bootstrap,
        Gossipsub = GossipOptions(),
        LowWater = LowWater,
        HighWater = HighWater,
        GracePeriod = GracePeriod,
    };

    /// <summary>
    /// Whether <paramref name="next"/> needs a new node: the DHT and the gossipsub router are built with the manager
    /// (stream handlers, tables, timers), so a change of the DHT's mode, protocol or bootstrap list, or of a gossip
    /// setting, restarts it (the session joins its topics again); every other setting applies to the running node
    /// (<see cref="ApplyTo"/>).
    /// </summary>
    public bool NeedsRestart(SessionConfig next) =>
        next.DhtMode != DhtMode || next.DhtProtocol != DhtProtocol || !next.Bootstrap.SequenceEqual(Bootstrap) || GossipChanged(next);

    /// <summary>Whether a gossip setting differs (the restart's reason, for the message).</summary>
    public bool GossipChanged(SessionConfig next) =>
        next.GossipHeartbeat != GossipHeartbeat || !string.Equals(next.GossipMessageId, GossipMessageId, StringComparison.OrdinalIgnoreCase)
        || next.GossipThresholds != GossipThresholds || next.GossipPeerExchange != GossipPeerExchange || !next.TrustedGossipPeers.SequenceEqual(TrustedGossipPeers);

    /// <summary>Writes these settings into a running manager (all but the DHT's, see <see cref="NeedsRestart"/>).</summary>
    public void ApplyTo(ConnectionManager manager) => manager.Reconfigure(live =>
    {
        live.MaxConnections = MaxConnections;
        live.PoolTimeout = PoolTimeout;
        live.ConnectTimeout = ConnectTimeout;
        live.KeepAliveInterval = KeepAliveInterval;
        live.KeepAliveTimeout = KeepAliveTimeout;
        live.AutoReconnect = AutoReconnect;
        live.CircuitBreakerFailureThreshold = CircuitBreakerThreshold;
        live.CircuitBreakerBreakDuration = CircuitBreakerDuration;
        live.RequestTimeout = RequestTimeout;
        live.LowWater = LowWater;
        live.HighWater = HighWater;
        live.GracePeriod = GracePeriod;
    });
}
