using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>Which peers offered in peer exchange to believe, and where they listen: each offer's signed peer record, checked.</summary>
internal static class PeerExchangeOffers
{
    /// <summary>
    /// The peers a PRUNE offers, each with the addresses of its signed peer record. A record that does not verify, or
    /// is another peer's, drops its offer (the offering peer vouches for nothing; js drops these too); no record, no
    /// addresses. Runs outside the router's lock: each record is a signature check.
    /// </summary>
    public static List<GossipPeerOffer> Check(IReadOnlyList<PeerExchangeEntry> entries, PeerId self, GossipCounters counters)
    {
        var offers = new List<GossipPeerOffer>();
        foreach (var entry in entries)
        {
            if (entry.PeerId is not { } bytes || !PeerId.TryFromBytes(bytes, out var id, out _) || id == self || offers.Any(o => o.PeerId == id))
                continue;
            if (entry.SignedPeerRecord is null)
            {
                offers.Add(new GossipPeerOffer(id, []));
            }
            else if (SignedPeerRecord.TryOpen(entry.SignedPeerRecord, id) is { } record)
            {
                offers.Add(new GossipPeerOffer(id, record.Addresses));
            }
            else
            {
                counters.PeerRecordRefused();
            }
        }
        return offers;
    }
}
