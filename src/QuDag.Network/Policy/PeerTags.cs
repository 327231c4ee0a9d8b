using System.Collections.Concurrent;

namespace QuDag.Network;

/// <summary>
/// What an operator says of peers for the connection manager's trims, as go-libp2p's connmgr keeps it: protections by
/// tag (a protected peer is never trimmed while any tag protects it) and tags with weights (a peer's value is the sum
/// of its tags' weights; the lowest values are trimmed first). A tag may decay: its weight falls linearly to zero over
/// its decay time and the tag goes, computed from the clock when read, so no timer runs for it. Only the API adds
/// entries, and a peer with no tag and no protection left has none.
/// </summary>
internal sealed class PeerTags(TimeProvider time)
{
    private readonly ConcurrentDictionary<PeerId, TagSet> _peers = new();

    /// <summary>Protects <paramref name="peer"/> under <paramref name="tag"/> (idempotent).</summary>
    public void Protect(PeerId peer, string tag) => Update(peer, set => set.Protections.Add(tag));

    /// <summary>Removes one protection; true while another tag still protects the peer.</summary>
    public bool Unprotect(PeerId peer, string tag)
    {
        bool still = false;
        Update(peer, set =>
        {
            set.Protections.Remove(tag);
            still = set.Protections.Count > 0;
        });
        return still;
    }

    /// <summary>Whether the peer is protected (by <paramref name="tag"/>, or by any tag when null).</summary>
    public bool IsProtected(PeerId peer, string? tag = null)
    {
        if (!_peers.TryGetValue(peer, out var set))
            return false;
        lock (set)
            return tag is null ? set.Protections.Count > 0 : set.Protections.Contains(tag);
    }

    /// <summary>The tags that protect the peer, sorted.</summary>
    public IReadOnlyList<string> ProtectionsOf(PeerId peer)
    {
        if (!_peers.TryGetValue(peer, out var set))
            return [];
        lock (set)
            return [.. set.Protections.Order(StringComparer.Ordinal)];
    }

    /// <summary>Sets a tag's weight (replacing the tag); with <paramref name="decay"/> it falls to zero over that time.</summary>
    public void Tag(PeerId peer, string tag, int value, TimeSpan? decay)
    {
        var entry = new TagValue(value, time.GetTimestamp(), decay is { } d && d > TimeSpan.Zero ? d : null);
        Update(peer, set => set.Tags[tag] = entry);
    }

    /// <summary>Removes a tag; false if the peer did not have it.</summary>
    public bool Untag(PeerId peer, string tag)
    {
        bool removed = false;
        Update(peer, set => removed = set.Tags.Remove(tag));
        return removed;
    }

    /// <summary>The peer's tags with their weights now (decayed ones as they stand, gone ones left out).</summary>
    public IReadOnlyDictionary<string, int> TagsOf(PeerId peer)
    {
        if (!_peers.TryGetValue(peer, out var set))
            return new Dictionary<string, int>();
        long now = time.GetTimestamp();
        lock (set)
        {
            return set.Tags.Select(t => (t.Key, Value: WeightNow(t.Value, now)))
                .Where(t => t.Value is not null).ToDictionary(t => t.Key, t => t.Value!.Value, StringComparer.Ordinal);
        }
    }

    /// <summary>The peer's value: the sum of its tags' weights now.</summary>
    public long ValueOf(PeerId peer)
    {
        if (!_peers.TryGetValue(peer, out var set))
            return 0;
        long now = time.GetTimestamp();
        long sum = 0;
        lock (set)
        {
            foreach (var tag in set.Tags.Values)
                sum += WeightNow(tag, now) ?? 0;
        }
        return sum;
    }

    /// <summary>Peers with any tag or protection (for tests).</summary>
    internal int Count => _peers.Count;

    // Linear decay: the full weight when set, zero (and gone) once the decay time has passed.
    private int? WeightNow(TagValue tag, long now)
    {
        if (tag.Decay is not { } decay)
            return tag.Value;
        double left = 1 - time.GetElapsedTime(tag.SetAt, now) / decay;
        return left <= 0 ? null : (int)Math.Round(tag.Value * left);
    }

    // Changes a peer's set under its lock; a set left empty goes, and one removed meanwhile is made afresh.
    private void Update(PeerId peer, Action<TagSet> change)
    {
        while (true)
        {
            var set = _peers.GetOrAdd(peer, static _ => new TagSet());
            lock (set)
            {
                if (set.Removed)
                    continue;
                change(set);
                PruneDecayed(set);
                if (set.Protections.Count == 0 && set.Tags.Count == 0)
                {
                    set.Removed = true;
                    _peers.TryRemove(new KeyValuePair<PeerId, TagSet>(peer, set));
                }
                return;
            }
        }
    }

    private void PruneDecayed(TagSet set)
    {
        long now = time.GetTimestamp();
        foreach (var (name, tag) in set.Tags)
        {
            if (WeightNow(tag, now) is null)
                set.Tags.Remove(name);
        }
    }

    private readonly record struct TagValue(int Value, long SetAt, TimeSpan? Decay);

    private sealed class TagSet
    {
        public HashSet<string> Protections { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, TagValue> Tags { get; } = new(StringComparer.Ordinal);

        public bool Removed; // under the set's lock: the set left the table; a writer makes a new one
    }
}
