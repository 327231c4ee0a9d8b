namespace QuDag.Network.Discovery;

/// <summary>How a peer differs between two crawls.</summary>
public enum CrawlChange
{
    /// <summary>Dialable now, and not before (or not there at all).</summary>
    New,

    /// <summary>Dialable before, and not now (or not found at all).</summary>
    Gone,

    /// <summary>
    /// The address that answered for one peer before answers for another now: a restarted node with a new key (QuDAG
    /// nodes make one at every start). Counted once, not as one gone and one new.
    /// </summary>
    IdentityChanged,
}

/// <summary>One difference between two crawls: the peer now (or the one gone), the one before, and the address concerned.</summary>
public sealed record CrawlDifference(CrawlChange Change, PeerId PeerId, PeerId? PreviousPeerId, Multiaddr? Address, string? AgentVersion);

/// <summary>Compares two crawls by PeerId and by address: new, gone and changed-identity peers.</summary>
public static class CrawlComparison
{
    /// <summary>
    /// The differences from <paramref name="previous"/> to <paramref name="current"/>. A peer is there in a crawl when
    /// it was dialable; when a gone peer's address answers for a new peer, the two are one identity change.
    /// </summary>
    public static IReadOnlyList<CrawlDifference> Compare(IEnumerable<CrawlResult> previous, IEnumerable<CrawlResult> current)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(current);
        var before = Reachable(previous);
        var now = Reachable(current);
        var gone = before.Values.Where(p => !now.ContainsKey(p.PeerId)).ToList();
        var arrived = now.Values.Where(p => !before.ContainsKey(p.PeerId)).ToList();
        var goneByAddress = new Dictionary<Multiaddr, CrawlResult>();
        foreach (var peer in gone)
        {
            if (peer.DialedAddress is { } address)
                goneByAddress.TryAdd(address.WithoutPeerId(), peer);
        }

        var differences = new List<CrawlDifference>();
        var replaced = new HashSet<PeerId>();
        foreach (var peer in arrived)
        {
            if (peer.DialedAddress is { } address && goneByAddress.Remove(address.WithoutPeerId(), out var old))
            {
                replaced.Add(old.PeerId);
                differences.Add(new CrawlDifference(CrawlChange.IdentityChanged, peer.PeerId, old.PeerId, address.WithoutPeerId(), peer.AgentVersion));
            }
            else
            {
                differences.Add(new CrawlDifference(CrawlChange.New, peer.PeerId, null, peer.DialedAddress, peer.AgentVersion));
            }
        }
        foreach (var peer in gone.Where(p => !replaced.Contains(p.PeerId)))
            differences.Add(new CrawlDifference(CrawlChange.Gone, peer.PeerId, null, peer.DialedAddress, peer.AgentVersion));
        return differences;
    }

    private static Dictionary<PeerId, CrawlResult> Reachable(IEnumerable<CrawlResult> crawl)
    {
        var peers = new Dictionary<PeerId, CrawlResult>();
        foreach (var result in crawl)
        {
            if (result.Dialable)
                peers.TryAdd(result.PeerId, result);
        }
        return peers;
    }
}
