using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Kad.Store;

/// <summary>
/// Provider records: who said they provide a key (ADD_PROVIDER, and this node's own), with the addresses they gave.
/// Bounded in keys and in providers per key (rust's memory store: 1,024 keys, k providers each); a full store refuses
/// what is new and keeps refreshing what it holds. Each provider expires <c>ttl</c> after it last announced itself
/// (the spec's 48 h). Thread-safe.
/// </summary>
public sealed class ProviderStore
{
    private readonly Dictionary<string, List<(KadPeer Provider, DateTimeOffset Expires)>> _keys = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;

    public ProviderStore(int maxKeys, int maxProvidersPerKey, int maxKeyBytes, TimeSpan ttl, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKeys, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxProvidersPerKey, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        MaxKeys = maxKeys;
        MaxProvidersPerKey = maxProvidersPerKey;
        MaxKeyBytes = maxKeyBytes;
        Ttl = ttl;
        _time = timeProvider ?? TimeProvider.System;
    }

    public int MaxKeys { get; }

    public int MaxProvidersPerKey { get; }

    public int MaxKeyBytes { get; }

    public TimeSpan Ttl { get; }

    /// <summary>Keys with at least one provider.</summary>
    public int KeyCount
    {
        get
        {
            lock (_lock)
                return _keys.Count;
        }
    }

    /// <summary>Adds or refreshes <paramref name="provider"/> for <paramref name="key"/>; false when refused (a bound, a bad key).</summary>
    public bool Add(ReadOnlySpan<byte> key, KadPeer provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        if (key.IsEmpty || key.Length > MaxKeyBytes)
            return false;
        string id = Convert.ToBase64String(key);
        var now = _time.GetUtcNow();
        var kept = new KadPeer(provider.Id, provider.Addresses.Take(Routing.RoutingTable.MaxAddresses));
        lock (_lock)
        {
            if (!_keys.TryGetValue(id, out var providers))
            {
                if (_keys.Count >= MaxKeys)
                {
                    RemoveExpiredLocked(now);
                    if (_keys.Count >= MaxKeys)
                        return false;
                }
                _keys[id] = providers = [];
            }
            providers.RemoveAll(p => p.Expires <= now);
            int index = providers.FindIndex(p => p.Provider.Id == provider.Id);
            if (index >= 0)
                providers[index] = (kept, now + Ttl);
            else if (providers.Count < MaxProvidersPerKey)
                providers.Add((kept, now + Ttl));
            else
                return false;
            return true;
        }
    }

    /// <summary>The live providers of <paramref name="key"/>.</summary>
    public IReadOnlyList<KadPeer> Get(ReadOnlySpan<byte> key)
    {
        string id = Convert.ToBase64String(key);
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (!_keys.TryGetValue(id, out var providers))
                return [];
            providers.RemoveAll(p => p.Expires <= now);
            if (providers.Count == 0)
                _keys.Remove(id);
            return providers.Select(p => p.Provider).ToArray();
        }
    }

    /// <summary>Drops expired providers (and keys left with none); returns how many providers.</summary>
    public int RemoveExpired()
    {
        lock (_lock)
            return RemoveExpiredLocked(_time.GetUtcNow());
    }

    private int RemoveExpiredLocked(DateTimeOffset now)
    {
        int removed = 0;
        foreach (var (id, providers) in _keys.ToArray())
        {
            removed += providers.RemoveAll(p => p.Expires <= now);
            if (providers.Count == 0)
                _keys.Remove(id);
        }
        return removed;
    }

    /// <summary>Whether <paramref name="peer"/> provides <paramref name="key"/> (for tests and diagnostics).</summary>
    public bool IsProvider(ReadOnlySpan<byte> key, PeerId peer) => Get(key).Any(p => p.Id == peer);
}
