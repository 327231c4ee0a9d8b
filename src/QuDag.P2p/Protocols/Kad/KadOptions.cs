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

    /// <summary>Peers of one public IP group (IPv4 /16, IPv6 /32) a bucket admits (go-libp2p's diversity filter's 2).</summary>
    public int MaxPeersPerIpGroup { get; init; } = 2;

    /// <summary>One request and its response.</summary>
    public TimeSpan RequestTimeout { get; init; } = KadProtocol.DefaultRequestTimeout;

    /// <summary>A whole lookup (rust: 60 s).</summary>
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The largest message read.</summary>
    public int MaxMessageSize { get; init; } = KadProtocol.DefaultMaxMessageSize;

    /// <summary>How often every non-empty bucket is refreshed with a lookup (the spec's 10 minutes); zero turns it off.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMinutes(10);

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
        if (RefreshInterval < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(RefreshInterval), RefreshInterval, "RefreshInterval cannot be negative.");
    }

    private static void Positive(int value, string name)
    {
        if (value < 1)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
    }
}
