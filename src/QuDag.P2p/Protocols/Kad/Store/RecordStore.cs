namespace QuDag.P2p.Protocols.Kad.Store;

/// <summary>Why <see cref="RecordStore.Put"/> refused a record.</summary>
public enum RecordRefusal
{
    None,
    KeyTooLong,
    ValueTooLarge,
    StoreFull,
}

/// <summary>
/// The records this node holds for the DHT (PUT_VALUE from others, and its own): bounded in count and size, each
/// expiring <c>ttl</c> after it was last stored (rust-libp2p's memory store: 1,024 records, 65 KiB values; a full store
/// refuses new keys rather than dropping held ones, so a flood cannot push honest records out). Expired records are
/// dropped when read and by <see cref="RemoveExpired"/>. Thread-safe.
/// </summary>
public sealed class RecordStore
{
    private readonly Dictionary<string, (KadRecord Record, DateTimeOffset Expires)> _records = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;

    public RecordStore(int maxRecords, int maxKeyBytes, int maxValueBytes, TimeSpan ttl, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecords, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKeyBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxValueBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        MaxRecords = maxRecords;
        MaxKeyBytes = maxKeyBytes;
        MaxValueBytes = maxValueBytes;
        Ttl = ttl;
        _time = timeProvider ?? TimeProvider.System;
    }

    public int MaxRecords { get; }

    public int MaxKeyBytes { get; }

    public int MaxValueBytes { get; }

    public TimeSpan Ttl { get; }

    public int Count
    {
        get
        {
            lock (_lock)
                return _records.Count;
        }
    }

    /// <summary>Stores (or replaces) a record, stamping its timeReceived; says why when it does not.</summary>
    public RecordRefusal Put(KadRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Key.Length is 0 || record.Key.Length > MaxKeyBytes)
            return RecordRefusal.KeyTooLong;
        if (record.Value.Length > MaxValueBytes)
            return RecordRefusal.ValueTooLarge;
        var now = _time.GetUtcNow();
        var stored = record with { TimeReceived = KadRecord.FormatTime(now), Publisher = record.Publisher, TtlSeconds = 0 };
        string id = Convert.ToBase64String(record.Key);
        lock (_lock)
        {
            if (!_records.ContainsKey(id) && _records.Count >= MaxRecords)
            {
                RemoveExpiredLocked(now);
                if (_records.Count >= MaxRecords)
                    return RecordRefusal.StoreFull;
            }
            _records[id] = (stored, now + Ttl);
        }
        return RecordRefusal.None;
    }

    /// <summary>The record under <paramref name="key"/>, unless absent or expired.</summary>
    public KadRecord? Get(ReadOnlySpan<byte> key)
    {
        string id = Convert.ToBase64String(key);
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (!_records.TryGetValue(id, out var held))
                return null;
            if (held.Expires > now)
                return held.Record;
            _records.Remove(id);
            return null;
        }
    }

    /// <summary>Drops every expired record; returns how many.</summary>
    public int RemoveExpired()
    {
        lock (_lock)
            return RemoveExpiredLocked(_time.GetUtcNow());
    }

    private int RemoveExpiredLocked(DateTimeOffset now)
    {
        var expired = _records.Where(r => r.Value.Expires <= now).Select(r => r.Key).ToList();
        foreach (var id in expired)
            _records.Remove(id);
        return expired.Count;
    }
}
