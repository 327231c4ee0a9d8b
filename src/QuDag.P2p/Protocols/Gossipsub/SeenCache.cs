namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// Message ids seen within the last <see cref="GossipsubOptions.SeenTtl"/>, in arrival order, so a later copy is told
/// apart as a duplicate. Bounded: past the cap the oldest go early. Owned by the router, called under its lock.
/// </summary>
internal sealed class SeenCache(TimeProvider time, TimeSpan ttl, int capacity)
{
    private readonly Dictionary<MessageId, long> _seen = [];
    private readonly Queue<(MessageId Id, long At)> _order = new();

    public int Count => _seen.Count;

    public bool Contains(MessageId id) => _seen.ContainsKey(id);

    /// <summary>Adds the id; false when it was there already.</summary>
    public bool Add(MessageId id)
    {
        if (_seen.ContainsKey(id))
            return false;
        long now = time.GetTimestamp();
        _seen[id] = now;
        _order.Enqueue((id, now));
        while (_seen.Count > capacity && _order.TryDequeue(out var oldest))
            _seen.Remove(oldest.Id);
        return true;
    }

    /// <summary>Forgets ids older than the TTL.</summary>
    public void Prune()
    {
        long now = time.GetTimestamp();
        while (_order.TryPeek(out var oldest) && time.GetElapsedTime(oldest.At, now) >= ttl)
        {
            _order.Dequeue();
            _seen.Remove(oldest.Id);
        }
    }
}
