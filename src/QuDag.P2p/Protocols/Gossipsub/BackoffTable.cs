using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// PRUNE backoffs: until when (clock timestamp) we may not GRAFT a peer into a topic's mesh, nor accept its GRAFT
/// there. A backoff only grows, is forgotten when it passes (each heartbeat) or the peer leaves, and a peer holds at
/// most <c>maxTopicsPerPeer</c> of them. Owned by the router, called under its lock.
/// </summary>
internal sealed class BackoffTable(int maxTopicsPerPeer)
{
    private readonly Dictionary<PeerId, Dictionary<string, long>> _until = [];

    public bool IsBackedOff(PeerId peer, string topic, long now) => Until(peer, topic) is { } until && now < until;

    /// <summary>The backoff's end; null when none.</summary>
    public long? Until(PeerId peer, string topic) =>
        _until.TryGetValue(peer, out var topics) && topics.TryGetValue(topic, out long until) ? until : null;

    /// <summary>Sets the backoff to <paramref name="until"/> unless a later one holds (a remote's PRUNE).</summary>
    public void Extend(PeerId peer, string topic, long until)
    {
        if (Until(peer, topic) is not { } known || known < until)
            Set(peer, topic, until);
    }

    /// <summary>Sets the backoff to <paramref name="until"/> (our own PRUNE, or a refused GRAFT, restarts it).</summary>
    public void Set(PeerId peer, string topic, long until)
    {
        if (!_until.TryGetValue(peer, out var topics))
            _until[peer] = topics = new Dictionary<string, long>(StringComparer.Ordinal);
        if (topics.Count < maxTopicsPerPeer || topics.ContainsKey(topic))
            topics[topic] = until;
    }

    public void RemovePeer(PeerId peer) => _until.Remove(peer);

    /// <summary>Forgets backoffs that have passed.</summary>
    public void Expire(long now)
    {
        foreach (var (peer, topics) in _until)
        {
            foreach (var (topic, until) in topics)
            {
                if (now >= until)
                    topics.Remove(topic);
            }
            if (topics.Count == 0)
                _until.Remove(peer);
        }
    }
}
