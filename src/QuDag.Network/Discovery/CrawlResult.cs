namespace QuDag.Network.Discovery;

/// <summary>Whether a crawled peer serves the DHT: as identify says, and as its answers to FIND_NODE show.</summary>
public enum CrawlDhtMode
{
    /// <summary>Not known: the peer could not be dialed, or said nothing of itself.</summary>
    Unknown,

    /// <summary>The peer does not serve kad (QuDAG's nodes as they run today, any DHT client): it answers no FIND_NODE.</summary>
    Client,

    /// <summary>The peer serves kad: its routing table was read.</summary>
    Server,
}

/// <summary>Why a peer's crawl went wrong (or <see cref="None"/>). The names are what the module and CSV files show.</summary>
public enum CrawlError
{
    /// <summary>Nothing went wrong.</summary>
    None,

    /// <summary>The TCP connect was refused: nothing listens there now.</summary>
    Refused,

    /// <summary>No route to the address, or its name does not resolve.</summary>
    Unreachable,

    /// <summary>A dial, the handshake, identify or a FIND_NODE did not finish in time.</summary>
    Timeout,

    /// <summary>The address answered with another peer id than the one the routing tables named (a restarted QuDAG node).</summary>
    IdentityMismatch,

    /// <summary>The security handshake failed (no common protocol, a bad signature, garbage).</summary>
    HandshakeFailed,

    /// <summary>The peer broke a protocol after the handshake: a malformed identify or kad message.</summary>
    ProtocolError,

    /// <summary>The peer closed or reset the connection while it was crawled.</summary>
    Closed,

    /// <summary>None of the peer's addresses is one this stack dials (TCP over ip4, ip6 or dns).</summary>
    NoDialableAddress,

    /// <summary>Anything else; <see cref="CrawlResult.ErrorMessage"/> says what.</summary>
    Other,
}

/// <summary>
/// One peer as a crawl found it: one per PeerId, streamed as soon as its visit ends. A peer that does not serve kad is
/// a result too (dialable, with its identify data, <see cref="CrawlDhtMode.Client"/>); a peer that could not be dialed
/// carries the <see cref="Error"/> class. Immutable; everything a comparison or a report needs.
/// </summary>
public sealed record CrawlResult
{
    /// <summary>The peer, as its security handshake proved it (or as the tables named it when it could not be dialed).</summary>
    public required PeerId PeerId { get; init; }

    /// <summary>Every address known for the peer: those the routing tables gave, then those its identify listed.</summary>
    public IReadOnlyList<Multiaddr> Addresses { get; init; } = [];

    /// <summary>The address that answered (or the last one tried), without /p2p.</summary>
    public Multiaddr? DialedAddress { get; init; }

    /// <summary>True when a connection was made and secured.</summary>
    public bool Dialable { get; init; }

    /// <summary>Why the crawl of this peer went wrong; <see cref="CrawlError.None"/> when it did not.</summary>
    public CrawlError Error { get; init; }

    /// <summary>The error's own words, for a person.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>For <see cref="CrawlError.IdentityMismatch"/>: the peer that answered at that address instead.</summary>
    public PeerId? AnsweredBy { get; init; }

    /// <summary>The peer's software, as its identify said (rust-libp2p/0.53.2, js-libp2p/3.3.11, ...).</summary>
    public string? AgentVersion { get; init; }

    /// <summary>The peer's network, as its identify said (/qudag/1.0.0, ipfs/0.1.0).</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>The protocols the peer serves, as its identify said.</summary>
    public IReadOnlyList<string> Protocols { get; init; } = [];

    /// <summary>Whether the peer serves the DHT.</summary>
    public CrawlDhtMode DhtMode { get; init; }

    /// <summary>The peers in its routing table, as FIND_NODE answers showed them.</summary>
    public IReadOnlyList<PeerId> Neighbours { get; init; } = [];

    /// <summary>True when the walk read the whole table (every part of the key space answered, no cap reached).</summary>
    public bool RoutingTableComplete { get; init; }

    /// <summary>FIND_NODE requests sent to this peer.</summary>
    public int Requests { get; init; }

    /// <summary>The dial that succeeded, from TCP connect to a muxed connection, in milliseconds (0 when none did).</summary>
    public double ConnectMs { get; init; }

    /// <summary>The whole visit (dials, identify, the table walk), in milliseconds.</summary>
    public double CrawlMs { get; init; }

    /// <summary>When the visit started.</summary>
    public DateTimeOffset CrawledAt { get; init; }
}
