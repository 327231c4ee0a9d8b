using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// IWANT promises: for each IWANT we send, one of its ids (at random) that the peer announced must arrive within
/// <see cref="GossipsubOptions.IWantFollowupTime"/>, or the peer broke its promise (a P7 behaviour penalty). This is the
/// spec's way to catch peers that announce messages and never deliver them. Owned by the router, called under its lock.
/// </summary>
internal sealed class GossipPromises
{
    private readonly Dictionary<MessageId, (PeerId Peer, long Deadline)> _promises = [];

    public int Count => _promises.Count;

    public bool Contains(MessageId id) => _promises.ContainsKey(id);

    public void Add(MessageId id, PeerId peer, long deadline) => _promises[id] = (peer, deadline);

    /// <summary>The message arrived (from whomever): the promise is kept.</summary>
    public void Delivered(MessageId id) => _promises.Remove(id);

    /// <summary>Removes the promises past their deadline and returns who broke them (a peer once per broken promise).</summary>
    public List<PeerId> TakeBroken(long now)
    {
        var broken = new List<PeerId>();
        foreach (var (id, promise) in _promises)
        {
            if (now < promise.Deadline)
                continue;
            _promises.Remove(id);
            broken.Add(promise.Peer);
        }
        return broken;
    }
}
