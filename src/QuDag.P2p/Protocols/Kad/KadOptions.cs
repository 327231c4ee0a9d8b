namespace QuDag.P2p.Protocols.Kad;

/// <summary>Whether and how a node takes part in the DHT.</summary>
public enum KadMode
{
    /// <summary>No DHT at all.</summary>
    Off,
    /// <summary>Asks the DHT (lookups, get, put, provide) and keeps a routing table, but does not answer: the kad protocol
    /// is not served, so identify does not announce it and no peer adds us to its table (QuDAG's nodes in practice).</summary>
    Client,
    /// <summary>Asks and answers: serves the kad protocol (announced by identify), so other nodes route through us.</summary>
    Server,
}

/// <summary>Settings of a <see cref="KadDht"/>. Defaults follow the spec and rust-libp2p 0.53 where they agree.</summary>
public sealed record KadOptions
{
    /// <summary>The protocol id; a private network picks its own so it never mixes with the IPFS DHT.</summary>
    public string ProtocolId { get; init; } = KadProtocol.DefaultId;

    /// <summary>Peers to join through (multiaddrs ending in <c>/p2p/&lt;id&gt;</c>): <see cref="KadDht.BootstrapAsync"/> uses them by default, and a refresh that finds the routing table empty joins through them again.</summary>
    public IReadOnlyList<Identity.Multiaddr> BootstrapPeers { get; init; } = [];

    /// <summary>Replication: bucket size and the number of closest peers a lookup returns (the spec's k = 20).</summary>
    public int K { get; init; } = 20;

    /// <summary>Requests a lookup keeps in flight (Kademlia's alpha; rust and go use 3, the spec suggests up to 10).</summary>
    public int Alpha { get; init; } = 3;

    /// <summary>
    /// Disjoint paths a lookup runs (S/Kademlia 4.4; js-libp2p runs 10, rust-libp2p 1 unless asked, then alpha's 3): the
    /// seeds are dealt among them, each asks its own peers alpha at a time and ends on its own, and no peer is asked by
    /// two. More paths visit more of a DHT whose tables barely fill, where the k peers nearest a target may never have met
    /// it; 1 is the spec's single lookup. 3 by measurement (RESULTS.md, run E, issue 19: FindPeer in 100 js nodes found
    /// 13-18 of 20 targets with 1 path, 20 of 20 with 3, at about 1.3x one path's requests; 10 paths cost 2.9x).
    /// 1 to <see cref="MaxDisjointPaths"/> (each path keeps up to 8k candidates).
    /// </summary>
    public int DisjointPaths { get; init; } = 3;

    /// <summary>The most <see cref="DisjointPaths"/> accepted.</summary>
    public const int MaxDisjointPaths = 32;

    /// <summary>Peers of one public IP group (IPv4 /16, IPv6 /32) a bucket admits (go-libp2p's diversity filter's 2).</summary>
    public int MaxPeersPerIpGroup { get; init; } = 2;

    /// <summary>One request and its response.</summary>
    public TimeSpan RequestTimeout { get; init; } = KadProtocol.DefaultRequestTimeout;

    /// <summary>
    /// How long the least recently seen entry of a full bucket has to answer a liveness check (a FIND_NODE) before the
    /// newcomer waiting for its place takes it (js pings with a 2 s adaptive timeout; this machine's load asks for more).
    /// </summary>
    public TimeSpan StaleCheckTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A full bucket's least recently seen entry is checked for a newcomer only when it was last seen longer ago than
    /// this (js: 10 minutes); one seen lately is alive by evidence. Zero checks it for every newcomer.
    /// </summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>A whole lookup (rust: 60 s).</summary>
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The largest message read.</summary>
    public int MaxMessageSize { get; init; } = KadProtocol.DefaultMaxMessageSize;

    /// <summary>How often every non-empty bucket is refreshed with a lookup (the spec's 10 minutes); zero turns it off.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How often the records this node holds for others are sent again to the k peers closest to their keys, with the
    /// time they have left (the Kademlia paper's and rust-libp2p's hourly re-replication); zero turns it off.
    /// </summary>
    public TimeSpan ReplicationInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How often this node's own records and provider announcements are published again (the spec's 22 h).</summary>
    public TimeSpan RepublishInterval { get; init; } = TimeSpan.FromHours(22);

    /// <summary>How long a stored record or provider lives without being published again (the spec's 48 h).</summary>
    public TimeSpan RecordTtl { get; init; } = TimeSpan.FromHours(48);

    /// <summary>Records held (rust: 1,024).</summary>
    public int MaxRecords { get; init; } = 1024;

    /// <summary>The largest record value accepted (rust: 65 KiB; what rust can send is under its 16 KiB packets).</summary>
    public int MaxValueSize { get; init; } = 65 * 1024;

    /// <summary>The longest record or provider key accepted.</summary>
    public int MaxKeySize { get; init; } = 1024;

    /// <summary>Provider keys held (rust: 1,024).</summary>
    public int MaxProviderKeys { get; init; } = 1024;

    /// <summary>Inbound kad streams served at once, over all peers; more are reset (a flood costs a bounded amount).</summary>
    public int MaxInboundStreams { get; init; } = 64;

    /// <summary>Inbound kad streams served at once for one peer (rust: 32 per connection).</summary>
    public int MaxInboundStreamsPerPeer { get; init; } = 8;

    /// <summary>Requests answered on one inbound stream before it is closed (the spec lets a client reuse a stream).</summary>
    public int MaxRequestsPerStream { get; init; } = 32;

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range (its name is the parameter name).</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ProtocolId, nameof(ProtocolId));
        if (!ProtocolId.StartsWith('/') || ProtocolId.Length > 256)
            throw new ArgumentOutOfRangeException(nameof(ProtocolId), ProtocolId, "A protocol id starts with '/' and is at most 256 characters.");
        Positive(K, nameof(K));
        Positive(Alpha, nameof(Alpha));
        if (DisjointPaths is < 1 or > MaxDisjointPaths)
            throw new ArgumentOutOfRangeException(nameof(DisjointPaths), DisjointPaths, $"DisjointPaths must be from 1 to {MaxDisjointPaths}.");
        Positive(MaxPeersPerIpGroup, nameof(MaxPeersPerIpGroup));
        Positive(MaxRecords, nameof(MaxRecords));
        Positive(MaxValueSize, nameof(MaxValueSize));
        Positive(MaxKeySize, nameof(MaxKeySize));
        Positive(MaxProviderKeys, nameof(MaxProviderKeys));
        Positive(MaxInboundStreams, nameof(MaxInboundStreams));
        Positive(MaxInboundStreamsPerPeer, nameof(MaxInboundStreamsPerPeer));
        Positive(MaxRequestsPerStream, nameof(MaxRequestsPerStream));
        if (MaxMessageSize < 1024)
            throw new ArgumentOutOfRangeException(nameof(MaxMessageSize), MaxMessageSize, "MaxMessageSize must be at least 1 KiB.");
        if (RequestTimeout <= TimeSpan.Zero || QueryTimeout <= TimeSpan.Zero || RecordTtl <= TimeSpan.Zero || RepublishInterval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(RequestTimeout), "The timeouts, the record TTL and the republish interval must be positive.");
        if (StaleCheckTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(StaleCheckTimeout), StaleCheckTimeout, "StaleCheckTimeout must be positive.");
        if (StaleAfter < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(StaleAfter), StaleAfter, "StaleAfter cannot be negative.");
        if (ReplicationInterval < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ReplicationInterval), ReplicationInterval, "ReplicationInterval cannot be negative.");
        if (RefreshInterval < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(RefreshInterval), RefreshInterval, "RefreshInterval cannot be negative.");
    }

    private static void Positive(int value, string name)
    {
        if (value < 1)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
    }
}
