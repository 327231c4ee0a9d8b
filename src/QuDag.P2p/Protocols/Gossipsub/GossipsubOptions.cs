namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// Settings of a <see cref="GossipRouter"/>. Defaults are the gossipsub v1.1 spec's and rust-libp2p's (what QuDAG
/// runs), except where a comment says why not.
/// </summary>
public sealed record GossipsubOptions
{
    /// <summary>The mesh degree a topic's mesh is brought back to (D).</summary>
    public int D { get; init; } = 6;

    /// <summary>Below this many mesh peers the heartbeat grafts more (D_lo).</summary>
    public int DLow { get; init; } = 5;

    /// <summary>Above this many the heartbeat prunes back to D (D_hi).</summary>
    public int DHigh { get; init; } = 12;

    /// <summary>Mesh peers kept by score when pruning (D_score).</summary>
    public int DScore { get; init; } = 4;

    /// <summary>Outbound peers the mesh keeps at least (D_out), so inbound peers alone cannot take it over.</summary>
    public int DOut { get; init; } = 2;

    /// <summary>Peers outside the mesh sent IHAVE gossip each heartbeat, at least (D_lazy).</summary>
    public int DLazy { get; init; } = 6;

    /// <summary>The share of eligible non-mesh peers gossiped to, when more than <see cref="DLazy"/>.</summary>
    public double GossipFactor { get; init; } = 0.25;

    /// <summary>The heartbeat: mesh upkeep, gossip, score decay. QuDAG uses 10 s; rust's default is 1 s.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Heartbeats of messages the cache keeps for IWANT (mcache_len).</summary>
    public int HistoryLength { get; init; } = 5;

    /// <summary>Heartbeats of messages announced in IHAVE (mcache_gossip).</summary>
    public int HistoryGossip { get; init; } = 3;

    /// <summary>A fanout topic (published to, not subscribed) is forgotten after this long without a publish.</summary>
    public TimeSpan FanoutTtl { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a message id stays in the seen cache, so a late copy is a duplicate (js: 2 min; rust 60 s).</summary>
    public TimeSpan SeenTtl { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The seen cache's hard cap: past it the oldest ids go early, whatever the TTL.</summary>
    public int MaxSeenEntries { get; init; } = 250_000;

    /// <summary>The message cache's cap on payload bytes: past it the oldest messages go early.</summary>
    public long MaxMessageCacheBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>The backoff we ask for in a PRUNE and keep after one (the spec's 1 minute).</summary>
    public TimeSpan PruneBackoff { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The backoff after leaving a topic (10 s).</summary>
    public TimeSpan UnsubscribeBackoff { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A GRAFT this soon after our PRUNE's backoff started is a flood: an extra behaviour penalty.</summary>
    public TimeSpan GraftFloodThreshold { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Send peer exchange (other peers' ids) in our PRUNEs. rust and js default to off.</summary>
    public bool DoPeerExchange { get; init; }

    /// <summary>Peers offered in one PRUNE.</summary>
    public int PrunePeers { get; init; } = 16;

    /// <summary>Publish to every subscribed peer above the publish threshold, not only the mesh (v1.1 default).</summary>
    public bool FloodPublish { get; init; } = true;

    /// <summary>IHAVE messages taken from one peer per heartbeat; more are ignored (max_ihave_messages).</summary>
    public int MaxIHaveMessages { get; init; } = 10;

    /// <summary>
    /// Message ids asked for (IWANT) from one peer per heartbeat, and ids in one IHAVE we send (max_ihave_length).
    /// </summary>
    public int MaxIHaveLength { get; init; } = 5000;

    /// <summary>
    /// Message ids one peer's IWANTs are answered for per heartbeat; more are ignored. Not in the spec: it bounds what
    /// a peer can make us send, beside the per-message <see cref="GossipRetransmission"/>.
    /// </summary>
    public int MaxIWantPerHeartbeat { get; init; } = 5000;

    /// <summary>Times one peer is sent one message in answer to its IWANTs.</summary>
    public int GossipRetransmission { get; init; } = 3;

    /// <summary>How long a peer has to deliver a message it announced and we asked for before the promise is broken.</summary>
    public TimeSpan IWantFollowupTime { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Heartbeats between opportunistic grafting rounds.</summary>
    public int OpportunisticGraftTicks { get; init; } = 60;

    /// <summary>Peers grafted in one opportunistic round.</summary>
    public int OpportunisticGraftPeers { get; init; } = 2;

    /// <summary>Topics one peer may be subscribed to as far as we track; more subscriptions are ignored.</summary>
    public int MaxTopicsPerPeer { get; init; } = 1000;

    /// <summary>The largest RPC we send and the largest message we publish (rust's max_transmit_size, QuDAG's: 64 KiB).</summary>
    public int MaxTransmitSize { get; init; } = 64 * 1024;

    /// <summary>The largest RPC we read; a longer one resets the stream before its body is read.</summary>
    public int MaxInboundRpcSize { get; init; } = GossipsubProtocol.DefaultMaxRpcSize;

    /// <summary>Entry counts allowed in one inbound RPC.</summary>
    public RpcLimits Limits { get; init; } = RpcLimits.Default;

    /// <summary>Bytes queued for one peer's stream; past it forwarded and gossip messages to that peer are dropped (counted).</summary>
    public int MaxQueuedBytesPerPeer { get; init; } = 4 * 1024 * 1024;

    /// <summary>How message ids are made; rust's default (QuDAG's) unless the mesh runs another (js: <see cref="MessageIdFunctions.Js"/>).</summary>
    public MessageIdFunction MessageId { get; init; } = MessageIdFunctions.Rust;

    /// <summary>Peer scoring (v1.1); null turns it off (every score reads 0).</summary>
    public PeerScoreParams? Score { get; init; } = new();

    /// <summary>What the scores are compared with.</summary>
    public PeerScoreThresholds Thresholds { get; init; } = new();

    /// <summary>Times an outbound stream is opened again after it broke, before the peer is left out (rust: 5).</summary>
    public int MaxStreamAttempts { get; init; } = 5;

    /// <summary>The clock: heartbeats, backoffs, caches, scores.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{name} {rule}.");
        }
        Check(D >= 1, nameof(D), D, "must be at least 1");
        Check(DLow >= 1 && DLow <= D, nameof(DLow), DLow, "must be between 1 and D");
        Check(DHigh >= D, nameof(DHigh), DHigh, "must be at least D");
        Check(DScore >= 0 && DScore <= DHigh, nameof(DScore), DScore, "must be between 0 and D_hi");
        Check(DOut >= 0 && DOut < DLow && DOut <= D / 2, nameof(DOut), DOut, "must be below D_lo and at most D/2");
        Check(DLazy >= 0, nameof(DLazy), DLazy, "cannot be negative");
        Check(HeartbeatInterval >= TimeSpan.FromMilliseconds(10), nameof(HeartbeatInterval), HeartbeatInterval, "must be at least 10 ms");
        Check(HistoryLength >= 1 && HistoryGossip >= 1 && HistoryGossip <= HistoryLength, nameof(HistoryGossip), HistoryGossip, "must be between 1 and HistoryLength");
        Check(MaxTransmitSize >= 1024, nameof(MaxTransmitSize), MaxTransmitSize, "must be at least 1 KiB");
        Check(MaxInboundRpcSize >= 1024, nameof(MaxInboundRpcSize), MaxInboundRpcSize, "must be at least 1 KiB");
        Check(MaxTopicsPerPeer >= 1, nameof(MaxTopicsPerPeer), MaxTopicsPerPeer, "must be at least 1");
        Check(MaxQueuedBytesPerPeer >= MaxTransmitSize, nameof(MaxQueuedBytesPerPeer), MaxQueuedBytesPerPeer, "must be at least MaxTransmitSize");
        Check(MaxSeenEntries >= 1, nameof(MaxSeenEntries), MaxSeenEntries, "must be at least 1");
        ArgumentNullException.ThrowIfNull(MessageId);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(Limits);
        Thresholds.Validate();
    }
}
