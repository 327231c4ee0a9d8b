using System.Net;

namespace QuDag.Network;

/// <summary>A snapshot of what the manager knows of one peer.</summary>
public sealed record PeerInfo
{
    /// <summary>The peer.</summary>
    public required PeerId PeerId { get; init; }

    /// <summary>Its status; null when the manager only has its address.</summary>
    public ConnectionStatus? Status { get; init; }

    /// <summary>Its endpoint: the live connection's remote end, else the address book's, else (a peer that dialed us) where its last connection came from.</summary>
    public EndPoint? Endpoint { get; init; }

    /// <summary>Why the last connection failed or closed, if it did.</summary>
    public string? LastError { get; init; }

    /// <summary>True when a live connection waits in the idle pool.</summary>
    public bool Pooled { get; init; }

    /// <summary>True when the active or pooled connection (else the last one) was opened by the peer.</summary>
    public bool? Inbound { get; init; }

    /// <summary>The last measured ping round trip to this peer.</summary>
    public TimeSpan? Latency { get; init; }

    /// <summary>
    /// When the connection last changed state (connecting, connected, closed, failed); null if it never did. A status
    /// recorded with UpdateStatusAsync is not time-stamped: that update stays a single atomic write.
    /// </summary>
    public DateTimeOffset? LastChange { get; init; }

    /// <summary>How long the pooled connection has been idle.</summary>
    public TimeSpan? IdleTime { get; init; }

    /// <summary>Time taken to establish the live connection.</summary>
    public TimeSpan? HandshakeTime { get; init; }

    /// <summary>The security protocol of the live or pooled connection, else of the last one ("/noise" or "/tls/1.0.0").</summary>
    public string? Security { get; init; }

    /// <summary>The muxer of the live or pooled connection, else of the last one ("/yamux/1.0.0").</summary>
    public string? Muxer { get; init; }

    /// <summary>The peer's software, as its identify said ("rust-libp2p/0.53.2", "qudag-ps/0.2.0", ...).</summary>
    public string? AgentVersion { get; init; }

    /// <summary>The peer's network protocol version, as its identify said ("/qudag/1.0.0" for QuDAG).</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>The protocols the peer serves, as its identify said.</summary>
    public IReadOnlyList<string> Protocols { get; init; } = [];

    /// <summary>The addresses the peer listens on, as its identify said.</summary>
    public IReadOnlyList<Multiaddr> ListenAddresses { get; init; } = [];

    /// <summary>Our address as the peer sees it (identify's observedAddr).</summary>
    public Multiaddr? ObservedAddress { get; init; }

    /// <summary>The peer's circuit breaker: <see cref="Network.CircuitState.Open"/> while connects to it fail fast.</summary>
    public CircuitState CircuitState { get; init; }

    /// <summary>Dials to the peer that failed in a row (the breaker opens at <see cref="ConnectionManagerOptions.CircuitBreakerFailureThreshold"/>).</summary>
    public int ConsecutiveFailures { get; init; }

    /// <summary>When an open circuit lets the next trial dial through.</summary>
    public DateTimeOffset? CircuitOpenUntil { get; init; }

    /// <summary>Whether the manager reconnects this peer when its connection is lost.</summary>
    public bool AutoReconnect { get; init; }

    /// <summary>True while an automatic reconnect is waiting or dialing.</summary>
    public bool Reconnecting { get; init; }

    /// <summary>Failed dials of the current (or last) automatic reconnect.</summary>
    public int ReconnectFailures { get; init; }

    /// <summary>The backoff automatic reconnect last waited (or waits now) before a dial.</summary>
    public TimeSpan? ReconnectDelay { get; init; }

    /// <summary>The tags that protect the peer from trims (empty: not protected).</summary>
    public IReadOnlyList<string> ProtectionTags { get; init; } = [];

    /// <summary>True while any tag protects the peer from trims.</summary>
    public bool Protected => ProtectionTags.Count > 0;

    /// <summary>The peer's tags and their weights now (decaying ones as they stand).</summary>
    public IReadOnlyDictionary<string, int> Tags { get; init; } = new Dictionary<string, int>();

    /// <summary>The peer's value for trims: the sum of its tags' weights (the lowest are trimmed first).</summary>
    public long Value { get; init; }

    /// <summary>Why the peer's last connection ended (or its last dial was refused by the gater, a limit or its identity).</summary>
    public CloseReason? CloseReason { get; init; }

    /// <summary>For <see cref="Network.CloseReason.Limit"/>: the scope whose limit it was.</summary>
    public string? CloseScope { get; init; }

    /// <summary>When that was.</summary>
    public DateTimeOffset? ClosedAt { get; init; }
}
