using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Kad.Routing;

namespace QuDag.P2p.Protocols.Kad;

/// <summary>
/// One path of a <see cref="KadLookup"/>: its own candidates sorted by distance to the target, its own alpha requests in
/// flight, and its own end (the k nearest of its candidates that did not fail have answered). Which peers it may hold is
/// the lookup's to decide (a peer belongs to one path only); the path only keeps its list within
/// <c>maxCandidates</c>, dropping the farthest not yet asked.
/// </summary>
internal sealed class KadLookupPath(KadKey target, int maxCandidates)
{
    private readonly List<Candidate> _candidates = []; // nearest first

    /// <summary>Whether the path has been given a peer yet.</summary>
    public bool Started { get; private set; }

    /// <summary>Requests of this path not yet answered.</summary>
    public int InFlight { get; private set; }

    /// <summary>
    /// Adds a peer the lookup gave this path. Returns the peer dropped to keep the list within its cap (never one asked
    /// already; possibly <paramref name="peer"/> itself), which the lookup may give to a path again.
    /// </summary>
    public PeerId? Add(KadPeer peer)
    {
        Started = true;
        var candidate = new Candidate(peer, KadKey.ForPeer(peer.Id).DistanceTo(target));
        int index = _candidates.BinarySearch(candidate, CandidateOrder.Instance);
        _candidates.Insert(index < 0 ? ~index : index, candidate);
        if (_candidates.Count <= maxCandidates)
            return null;
        int last = _candidates.FindLastIndex(c => c.State == State.New);
        if (last < 0)
            return null;
        var dropped = _candidates[last].Peer.Id;
        _candidates.RemoveAt(last);
        return dropped;
    }

    /// <summary>The nearest candidate not asked yet, if it is among the k nearest that have not failed; else none.</summary>
    public Candidate? NextToAsk(int k)
    {
        int considered = 0;
        foreach (var candidate in _candidates)
        {
            if (candidate.State == State.Failed)
                continue;
            if (candidate.State == State.New)
                return candidate;
            if (++considered >= k)
                return null;
        }
        return null;
    }

    public void Asked(Candidate candidate)
    {
        candidate.State = State.Asked;
        InFlight++;
    }

    public void Completed(Candidate candidate, bool answered)
    {
        candidate.State = answered ? State.Answered : State.Failed;
        InFlight--;
    }

    /// <summary>The candidates that answered, nearest first.</summary>
    public IEnumerable<Candidate> Answered => _candidates.Where(c => c.State == State.Answered);

    public enum State { New, Asked, Answered, Failed }

    public sealed class Candidate(KadPeer peer, KadDistance distance)
    {
        public KadPeer Peer { get; } = peer;
        public KadDistance Distance { get; } = distance;
        public State State { get; set; }
    }

    private sealed class CandidateOrder : IComparer<Candidate>
    {
        public static readonly CandidateOrder Instance = new();
        public int Compare(Candidate? x, Candidate? y) => x!.Distance.CompareTo(y!.Distance);
    }
}
