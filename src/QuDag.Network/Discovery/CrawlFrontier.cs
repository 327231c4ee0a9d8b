namespace QuDag.Network.Discovery;

/// <summary>A peer waiting for its visit: its id when a table named it (null for a bare bootstrap address), and where to dial.</summary>
internal sealed class CrawlTarget(PeerId? peerId)
{
    public PeerId? PeerId { get; } = peerId;

    /// <summary>Guarded by the frontier's lock until the visit takes them.</summary>
    public List<Multiaddr> Addresses { get; } = [];
}

/// <summary>
/// What a crawl knows: each peer once, from the moment a table names it. It queues a peer for its visit the first time
/// it hears of it, adds the addresses later tables give while it waits, and forgets the addresses once it is visited
/// (a visited peer costs its id alone). Past <c>maxPeers</c> it turns newcomers away and counts them.
/// </summary>
internal sealed class CrawlFrontier(int maxPeers, int maxAddressesPerPeer)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<PeerId, CrawlTarget?> _peers = new(); // null once visited (or being visited)
    private int _dropped;

    public int Known { get { lock (_lock) return _peers.Count; } }

    public int Dropped => Volatile.Read(ref _dropped);

    /// <summary>A peer named by a table: the target to queue when it is new, null when it is known (its addresses are merged).</summary>
    public CrawlTarget? Offer(PeerId peerId, IEnumerable<Multiaddr> addresses)
    {
        lock (_lock)
        {
            if (_peers.TryGetValue(peerId, out var waiting))
            {
                if (waiting is not null)
                    Merge(waiting, addresses);
                return null;
            }
            if (_peers.Count >= maxPeers)
            {
                _dropped++;
                return null;
            }
            var target = new CrawlTarget(peerId);
            Merge(target, addresses);
            _peers[peerId] = target;
            return target;
        }
    }

    /// <summary>
    /// Starts the target's visit: its addresses to dial, and the peer counts as visited from now. False when another
    /// visit claimed the peer while it waited (an address that answered with its id).
    /// </summary>
    public bool TryTake(CrawlTarget target, out Multiaddr[] addresses)
    {
        lock (_lock)
        {
            addresses = [.. target.Addresses];
            target.Addresses.Clear();
            if (target.PeerId is not { } id)
                return true;
            if (!_peers.TryGetValue(id, out var current) || !ReferenceEquals(current, target))
                return false;
            _peers[id] = null;
            return true;
        }
    }

    /// <summary>
    /// For a visit that learnt who it reached only on connecting (a bare bootstrap address, an address answering with
    /// another id): true when no other visit has that peer, which is then this one's.
    /// </summary>
    public bool Claim(PeerId peerId)
    {
        lock (_lock)
        {
            if (_peers.TryGetValue(peerId, out var waiting) && waiting is null)
                return false;
            // A queued target for it will find it visited and end without a result.
            if (waiting is not null)
                waiting.Addresses.Clear();
            _peers[peerId] = null;
            return true;
        }
    }

    private void Merge(CrawlTarget target, IEnumerable<Multiaddr> addresses)
    {
        foreach (var address in addresses)
        {
            if (target.Addresses.Count >= maxAddressesPerPeer)
                break;
            var bare = address.WithoutPeerId();
            if (!target.Addresses.Contains(bare))
                target.Addresses.Add(bare);
        }
    }
}
