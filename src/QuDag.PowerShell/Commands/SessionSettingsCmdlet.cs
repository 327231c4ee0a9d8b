using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// The settings New-QuDagSession starts a node with and Set-QuDagSession changes on a running one: declared once, so
/// both take the same names, aliases and ranges. <see cref="SessionSettings.Merge"/> reads the ones the user bound;
/// an unbound one keeps its default (New) or the session's value (Set).
/// </summary>
public abstract class SessionSettingsCmdlet : PSCmdlet
{
    /// <summary>The limit on open connections (default 100). Lowered on a running session, it closes idle pooled connections (oldest first) and refuses new ones until the count fits; it never cuts an active one.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int MaxConnections { get; set; }

    /// <summary>How long idle connections wait in the pool, in seconds (default 300); changed on a running session, connections already pooled expire at their pooling time plus the new timeout.</summary>
    [Parameter]
    [Alias("PoolTimeout")]
    [Seconds(1, SecondsAttribute.Month)]
    public int PoolTimeoutSeconds { get; set; }

    /// <summary>How long a connect may take, in seconds: one deadline for TCP, security and muxer together. Default 10.</summary>
    [Parameter]
    [Alias("ConnectTimeout")]
    [Seconds(1, SecondsAttribute.Hour)]
    public int ConnectTimeoutSeconds { get; set; }

    /// <summary>A connection silent this many seconds gets a keepalive PING; 0 turns keepalive off. Default 15.</summary>
    [Parameter]
    [Alias("KeepAlive", "KeepAliveInterval")]
    [Seconds(0, SecondsAttribute.Day)]
    public int KeepAliveSeconds { get; set; }

    /// <summary>A keepalive PING unanswered this many seconds fails the connection. Default 20.</summary>
    [Parameter]
    [Alias("KeepAliveTimeout")]
    [Seconds(1, SecondsAttribute.Hour)]
    public int KeepAliveTimeoutSeconds { get; set; }

    /// <summary>Redial every peer whose connection is lost, with exponential backoff (5 s to 5 minutes) and jitter; -AutoReconnect:$false turns it off.</summary>
    [Parameter]
    public SwitchParameter AutoReconnect { get; set; }

    /// <summary>Consecutive failed dials that open a peer's circuit breaker; 0 turns it off. Default 5.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int CircuitBreakerThreshold { get; set; }

    /// <summary>How long an open circuit makes connects to its peer fail fast, in seconds. Default 60.</summary>
    [Parameter]
    [Alias("CircuitBreakerDuration")]
    [Seconds(1, SecondsAttribute.Day)]
    public int CircuitBreakerSeconds { get; set; }

    /// <summary>How long a request (Invoke-QuDagRequest) waits for its answer, and an inbound one for ours, in seconds. Default 10.</summary>
    [Parameter]
    [Alias("RequestTimeout")]
    [Seconds(1, SecondsAttribute.Day)]
    public int RequestTimeoutSeconds { get; set; }

    /// <summary>A node key file (the libp2p protobuf private key rust-libp2p writes) to load, or to create (owner-only) when it does not exist. A new identity restarts a running session's node.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IdentityPath { get; set; }
    // ---- the DHT (Kademlia) ----

    /// <summary>The DHT: Off, Client (lookups; not announced, not answering) or Server (also answers, announced by identify).</summary>
    [Parameter]
    [ValidateSet("Off", "Client", "Server", IgnoreCase = true)]
    public string? DhtMode { get; set; }

    /// <summary>The DHT's protocol id; /ipfs/kad/1.0.0 (QuDAG's) by default.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? DhtProtocol { get; set; }

    /// <summary>Peers to join the DHT through: multiaddrs ending in /p2p/&lt;peer id&gt;.</summary>
    [Parameter]
    [ValidateNotNull]
    public string[]? Bootstrap { get; set; }

    // ---- gossipsub ----

    /// <summary>The gossipsub heartbeat (mesh upkeep, gossip, score decay), in seconds. Default 10 (QuDAG's).</summary>
    [Parameter]
    [Alias("GossipHeartbeat")]
    [Seconds(1, SecondsAttribute.Hour)]
    public int GossipHeartbeatSeconds { get; set; }

    /// <summary>How gossip message ids are made: Rust (QuDAG's nodes, the default), Js or Go. A mesh must agree on it for IHAVE/IWANT.</summary>
    [Parameter]
    [ValidateSet("Rust", "Js", "Go", IgnoreCase = true)]
    public string? GossipMessageId { get; set; }

    /// <summary>Peers scoring below it get no gossip from us and their IHAVE/IWANT are ignored. Default -10; at most 0.</summary>
    [Parameter]
    public double GossipThreshold { get; set; }

    /// <summary>Peers scoring below it are not published to. Default -50; at most GossipThreshold.</summary>
    [Parameter]
    public double PublishThreshold { get; set; }

    /// <summary>Peers scoring below it are ignored altogether. Default -80; at most PublishThreshold.</summary>
    [Parameter]
    public double GraylistThreshold { get; set; }

    /// <summary>Peer exchange (peers offered in a PRUNE) is taken only from peers scoring at least this. Default 10.</summary>
    [Parameter]
    [Alias("AcceptPeerExchangeThreshold")]
    [ValidateRange(0, double.MaxValue)]
    public double AcceptPXThreshold { get; set; }

    /// <summary>Opportunistic grafting runs when the mesh's median score is below this. Default 20.</summary>
    [Parameter]
    [ValidateRange(0, double.MaxValue)]
    public double OpportunisticGraftThreshold { get; set; }

    /// <summary>Offer other peers of a topic, with their signed peer records, in the PRUNEs this node sends (peer exchange), as a bootstrapper does. Off by default, as in rust and js.</summary>
    [Parameter]
    public SwitchParameter GossipPeerExchange { get; set; }

    /// <summary>Peers (ids) whose peer exchange is believed, such as the bootstrappers you join a topic through: they score AcceptPXThreshold.</summary>
    [Parameter]
    [ValidateNotNull]
    public string[]? TrustedGossipPeer { get; set; }
    // ---- connection policy (watermarks, grace) ----

    /// <summary>The connection count trims bring the node down to (go-libp2p's low watermark); 0 turns trims off.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int LowWater { get; set; }

    /// <summary>Above this many open connections the node trims the lowest-value ones to -LowWater; 0 turns trims off.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int HighWater { get; set; }

    /// <summary>A connection younger than this is never trimmed, in seconds (60 by default).</summary>
    [Parameter]
    [Alias("GracePeriod")]
    [Seconds(0, SecondsAttribute.Day)]
    public int GracePeriodSeconds { get; set; }
}
