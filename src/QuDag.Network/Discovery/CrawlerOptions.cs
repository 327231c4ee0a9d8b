using QuDag.P2p.Host;

namespace QuDag.Network.Discovery;

/// <summary>Settings of a <see cref="Crawler"/>. The defaults crawl a network of thousands on a small machine.</summary>
public sealed class CrawlerOptions
{
    /// <summary>The kad protocol id (<c>/ipfs/kad/1.0.0</c>, QuDAG's and IPFS's); a private network may use another.</summary>
    public string KadProtocol { get; init; } = "/ipfs/kad/1.0.0";

    /// <summary>The crawler's key; a fresh Ed25519 key when null (then owned and disposed by the crawler).</summary>
    public NodeIdentity? Identity { get; init; }

    /// <summary>Security protocols in order of preference.</summary>
    public IReadOnlyList<string> Security { get; init; } = [SecurityProtocols.Noise, SecurityProtocols.Tls];

    /// <summary>Peers visited at once. Default 64.</summary>
    public int Concurrency { get; init; } = 64;

    /// <summary>The deadline of one dial: TCP connect, security and muxer. Default 10 s (js's and rust's upgrade deadline).</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The deadline of one request: identify, or one FIND_NODE. Default 10 s (rust's kad request timeout).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Addresses of one peer tried before it counts as undialable. Default 3.</summary>
    public int MaxDialsPerPeer { get; init; } = 3;

    /// <summary>Addresses kept per peer (from tables and identify). Default 16.</summary>
    public int MaxAddressesPerPeer { get; init; } = 16;

    /// <summary>
    /// Peers a crawl will know at most: past it, newly named peers are counted (<see cref="CrawlProgress.Dropped"/>)
    /// and not visited, so a network of any size, or forged tables, cannot grow the crawler's memory without end.
    /// Default 100,000.
    /// </summary>
    public int MaxPeers { get; init; } = 100_000;

    /// <summary>The remotes' bucket size k (20 in rust, go and js): an answer of k peers may leave more unread.</summary>
    public int BucketSize { get; init; } = 20;

    /// <summary>FIND_NODE requests per peer at most. Default 256: a full js-libp2p table (64 leaves of 20) needs about 130.</summary>
    public int MaxRequestsPerPeer { get; init; } = 256;

    /// <summary>FIND_NODE requests in flight to one peer. Default 8 (js serves 32 inbound kad streams per connection).</summary>
    public int ParallelRequestsPerPeer { get; init; } = 8;

    /// <summary>Prefix depth the walk asks about at most (a key at depth d costs about 2^d hashes). Default 16, as Nebula's sweep.</summary>
    public int MaxDepth { get; init; } = 16;

    /// <summary>Neighbours kept per peer. Default 5,000 (a rust table holds at most 256 buckets of 20; real ones a few hundred).</summary>
    public int MaxNeighbours { get; init; } = 5_000;

    /// <summary>The clock for the timings.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(KadProtocol, nameof(KadProtocol));
        ArgumentOutOfRangeException.ThrowIfLessThan(Concurrency, 1, nameof(Concurrency));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(DialTimeout, TimeSpan.Zero, nameof(DialTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RequestTimeout, TimeSpan.Zero, nameof(RequestTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDialsPerPeer, 1, nameof(MaxDialsPerPeer));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAddressesPerPeer, 1, nameof(MaxAddressesPerPeer));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPeers, 1, nameof(MaxPeers));
        ArgumentOutOfRangeException.ThrowIfLessThan(BucketSize, 1, nameof(BucketSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestsPerPeer, 1, nameof(MaxRequestsPerPeer));
        ArgumentOutOfRangeException.ThrowIfLessThan(ParallelRequestsPerPeer, 1, nameof(ParallelRequestsPerPeer));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxDepth, nameof(MaxDepth));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxDepth, 24, nameof(MaxDepth));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNeighbours, 1, nameof(MaxNeighbours));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
    }
}
