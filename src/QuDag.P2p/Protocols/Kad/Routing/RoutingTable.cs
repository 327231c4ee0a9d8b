using System.Net;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Kad.Routing;

/// <summary>A peer in the routing table: its id, keyspace point, the addresses it listens on and the IP it was seen at.</summary>
public sealed record RoutingEntry(PeerId Id, KadKey Key, IReadOnlyList<Multiaddr> Addresses, IPAddress? SeenAt, DateTimeOffset LastSeen);

/// <summary>What <see cref="RoutingTable.TryAdd"/> did with a peer.</summary>
public enum RoutingTableUpdate
{
    /// <summary>Now in its bucket.</summary>
    Added,
    /// <summary>Already there: its addresses and last-seen time were refreshed and it moved to the bucket's tail.</summary>
    Updated,
    /// <summary>Its bucket is full: it waits in the bucket's replacement cache for an entry to leave.</summary>
    Pending,
    /// <summary>Its bucket holds as many peers of its IP group as allowed: refused.</summary>
    RefusedByDiversity,
    /// <summary>The local peer never enters its own table.</summary>
    RefusedSelf,
}

/// <summary>
/// Kademlia's k-buckets (k = 20 by default) around the local key: bucket i holds peers whose key shares exactly i
/// leading bits with ours. A full bucket keeps newcomers in a replacement cache (at most k, newest kept) and promotes
/// the newest when an entry fails or leaves. A bucket admits at most <c>maxPerGroup</c> peers of one public IP group
/// (<see cref="IpGroup"/>), entries and replacements alike, so one operator's address block cannot fill a bucket with
/// made-up ids. Thread-safe (one lock: every operation is a few list operations on at most 2k entries).
/// </summary>
public sealed class RoutingTable
{
    private readonly KadKey _local;
    private readonly int _k;
    private readonly int _maxPerGroup;
    private readonly TimeProvider _time;
    private readonly Bucket?[] _buckets = new Bucket?[256];
    private readonly Lock _lock = new();
    private int _count;

    /// <param name="local">The local peer.</param>
    /// <param name="k">Entries per bucket (and replacement cache size).</param>
    /// <param name="maxPerGroup">Peers of one public IP group (IPv4 /16, IPv6 /32) per bucket.</param>
    /// <param name="timeProvider">The clock for last-seen times.</param>
    public RoutingTable(PeerId local, int k = 20, int maxPerGroup = 2, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerGroup, 1);
        LocalPeer = local;
        _local = KadKey.ForPeer(local);
        _k = k;
        _maxPerGroup = maxPerGroup;
        _time = timeProvider ?? TimeProvider.System;
    }

    public PeerId LocalPeer { get; }

    public KadKey LocalKey => _local;

    /// <summary>Entries per bucket.</summary>
    public int K => _k;

    /// <summary>Peers in the table (replacement caches not counted).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Raised (outside the lock) when a peer enters or leaves the table.</summary>
    public event Action<PeerId, bool>? Changed;

    /// <summary>
    /// Adds or refreshes a peer known to serve the DHT. <paramref name="addresses"/> are where it listens (kept as given,
    /// at most 8); <paramref name="seenAt"/> the IP of its connection, which its diversity group is taken from.
    /// </summary>
    public RoutingTableUpdate TryAdd(PeerId peer, IReadOnlyList<Multiaddr> addresses, IPAddress? seenAt)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        if (peer == LocalPeer)
            return RoutingTableUpdate.RefusedSelf;
        var key = KadKey.ForPeer(peer);
        var entry = new RoutingEntry(peer, key, addresses.Take(MaxAddresses).ToArray(), seenAt, _time.GetUtcNow());
        RoutingTableUpdate result;
        lock (_lock)
        {
            var bucket = _buckets[BucketOf(key)] ??= new Bucket();
            result = bucket.Add(entry, _k, _maxPerGroup);
            if (result == RoutingTableUpdate.Added)
                _count++;
        }
        if (result == RoutingTableUpdate.Added)
            Changed?.Invoke(peer, true);
        return result;
    }

    /// <summary>The most addresses kept per entry: what we hand out in answers must stay well under rust's 16 KiB.</summary>
    public const int MaxAddresses = 8;

    /// <summary>
    /// Removes a peer (it failed a request, or stopped serving the DHT); the newest peer of its bucket's replacement cache
    /// that the diversity rule admits takes its place. True if it was in the table.
    /// </summary>
    public bool Remove(PeerId peer)
    {
        var key = KadKey.ForPeer(peer);
        PeerId? promoted;
        lock (_lock)
        {
            if (_buckets[BucketOf(key)] is not { } bucket || !bucket.Remove(peer, _maxPerGroup, out promoted))
                return false;
            if (promoted is null)
                _count--;
        }
        Changed?.Invoke(peer, false);
        if (promoted is { } p)
            Changed?.Invoke(p, true);
        return true;
    }

    /// <summary>The entry of <paramref name="peer"/>, if it is in the table.</summary>
    public RoutingEntry? Find(PeerId peer)
    {
        var key = KadKey.ForPeer(peer);
        lock (_lock)
            return _buckets[BucketOf(key)]?.Find(peer);
    }

    /// <summary>Up to <paramref name="count"/> entries closest to <paramref name="target"/>, nearest first, without <paramref name="exclude"/>.</summary>
    public IReadOnlyList<RoutingEntry> Closest(KadKey target, int count, PeerId? exclude = null)
    {
        List<RoutingEntry> all;
        lock (_lock)
        {
            all = new List<RoutingEntry>(_count);
            foreach (var bucket in _buckets)
                bucket?.CopyTo(all);
        }
        if (exclude is { } excluded)
            all.RemoveAll(e => e.Id == excluded);
        all.Sort((a, b) => a.Key.DistanceTo(target).CompareTo(b.Key.DistanceTo(target)));
        return all.Count > count ? all.GetRange(0, count) : all;
    }

    /// <summary>Every entry (a snapshot).</summary>
    public IReadOnlyList<RoutingEntry> Entries => Closest(_local, int.MaxValue);

    /// <summary>The indices (common prefix lengths) of the buckets that hold at least one peer.</summary>
    public IReadOnlyList<int> NonEmptyBuckets
    {
        get
        {
            lock (_lock)
                return Enumerable.Range(0, 256).Where(i => _buckets[i] is { Count: > 0 }).ToArray();
        }
    }

    /// <summary>Peers waiting in replacement caches.</summary>
    public int PendingCount
    {
        get
        {
            lock (_lock)
                return _buckets.Sum(b => b?.PendingCount ?? 0);
        }
    }

    private int BucketOf(KadKey key) => Math.Min(255, _local.CommonPrefixLength(key));

    /// <summary>One k-bucket: entries least recently seen first, and its replacement cache, newest last.</summary>
    private sealed class Bucket
    {
        private readonly List<RoutingEntry> _entries = [];
        private readonly List<RoutingEntry> _pending = [];

        public int Count => _entries.Count;

        public int PendingCount => _pending.Count;

        public RoutingEntry? Find(PeerId peer) => _entries.Find(e => e.Id == peer);

        public void CopyTo(List<RoutingEntry> list) => list.AddRange(_entries);

        public RoutingTableUpdate Add(RoutingEntry entry, int k, int maxPerGroup)
        {
            int index = _entries.FindIndex(e => e.Id == entry.Id);
            if (index >= 0)
            {
                _entries.RemoveAt(index);
                _entries.Add(entry with { SeenAt = entry.SeenAt ?? _entries.ElementAtOrDefault(index)?.SeenAt });
                return RoutingTableUpdate.Updated;
            }
            _pending.RemoveAll(e => e.Id == entry.Id);
            string? group = IpGroup.GroupOf(entry.SeenAt);
            if (group is not null && InGroup(group) >= maxPerGroup)
                return RoutingTableUpdate.RefusedByDiversity;
            if (_entries.Count < k)
            {
                _entries.Add(entry);
                return RoutingTableUpdate.Added;
            }
            if (_pending.Count >= k)
                _pending.RemoveAt(0); // the oldest newcomer goes: the cache keeps the freshest
            _pending.Add(entry);
            return RoutingTableUpdate.Pending;
        }

        public bool Remove(PeerId peer, int maxPerGroup, out PeerId? promoted)
        {
            promoted = null;
            int index = _entries.FindIndex(e => e.Id == peer);
            if (index < 0)
            {
                _pending.RemoveAll(e => e.Id == peer);
                return false;
            }
            _entries.RemoveAt(index);
            for (int i = _pending.Count - 1; i >= 0; i--)
            {
                var candidate = _pending[i];
                _pending.RemoveAt(i);
                if (IpGroup.GroupOf(candidate.SeenAt) is { } group && InGroup(group) >= maxPerGroup)
                    continue;
                _entries.Add(candidate);
                promoted = candidate.Id;
                break;
            }
            return true;
        }

        // Counts entries and waiting replacements alike: a replacement of the group must not slip in by promotion.
        private int InGroup(string group) =>
            _entries.Count(e => IpGroup.GroupOf(e.SeenAt) == group) + _pending.Count(e => IpGroup.GroupOf(e.SeenAt) == group);
    }
}
