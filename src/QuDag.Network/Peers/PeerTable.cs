using System.Collections.Concurrent;
using System.Diagnostics;

namespace QuDag.Network;

/// <summary>
/// Every peer the manager knows (a <see cref="ConcurrentDictionary{TKey, TValue}"/>, our dashmap) and their status
/// changes: it stamps each change with the clock and tells <see cref="StatusChanged"/> and the peer's own subscribers.
/// Owns the peer count. Generic in the entry so the parts above it keep their per-peer state on the same record.
/// </summary>
internal sealed class PeerTable<TEntry>(object sender, TimeProvider time, Func<PeerId, TEntry> create) where TEntry : PeerRecord
{
    private readonly ConcurrentDictionary<PeerId, TEntry> _peers = new();
    private int _count;

    /// <summary>Raised on every status change of any peer, on the thread that made the change; the sender is the manager.</summary>
    public event EventHandler<ConnectionStatusChangedEventArgs>? StatusChanged;

    /// <summary>The last status changes the manager made itself (not those recorded through UpdateStatusAsync).</summary>
    public ConnectionEventLog Events { get; } = new();

    public int Count => Volatile.Read(ref _count);

    public ICollection<TEntry> Values => _peers.Values;

    public bool TryGet(PeerId peerId, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TEntry entry) =>
        _peers.TryGetValue(peerId, out entry);

    public TEntry GetOrAdd(PeerId peerId)
    {
        if (_peers.TryGetValue(peerId, out var entry))
            return entry;
        var created = create(peerId);
        entry = _peers.GetOrAdd(peerId, created);
        if (ReferenceEquals(entry, created))
            Interlocked.Increment(ref _count);
        return entry;
    }

    /// <summary>The peer's entry, marked named (kept for good): for the API's calls that name a peer.</summary>
    public TEntry GetOrAddNamed(PeerId peerId)
    {
        while (true)
        {
            var entry = GetOrAdd(peerId);
            if (entry.TryName())
                return entry;
            Remove(entry); // forgotten a moment ago and not yet removed: finish that, then make a fresh entry
        }
    }

    /// <summary>Removes a peer never named through the API; false if it was named first.</summary>
    public bool TryForget(TEntry entry)
    {
        if (!entry.TryMarkForgotten())
            return false;
        Remove(entry);
        return true;
    }

    private void Remove(TEntry entry)
    {
        if (_peers.TryRemove(new KeyValuePair<PeerId, TEntry>(entry.Id, entry)))
            Interlocked.Decrement(ref _count);
    }

    /// <summary>When the peer's status last changed, or null if it never changed through the manager.</summary>
    public DateTimeOffset? LastChange(PeerRecord entry) =>
        entry.LastChangeTimestamp is not 0 and var stamp ? time.GetUtcNow() - time.GetElapsedTime(stamp) : null;

    // recorded: a status set through UpdateStatusAsync. It always notifies and is not time-stamped, since a clock
    // read costs more than the whole O(1) update here (tests/QuDag.Benchmarks/RESULTS.md).
    // close: a connection's end (or a refused dial) with its reason from the closed set; the peer keeps it with the time.
    public void SetStatus(PeerRecord entry, ConnectionStatus status, string? reason, bool recorded = false,
        (CloseReason Code, string? Scope)? close = null)
    {
        var old = entry.ChangeStatus(status, reason, recorded ? null : time.GetTimestamp(),
            close is { } c ? new PeerClose(c.Code, c.Scope, time.GetUtcNow()) : null);
        if (old == status && !recorded)
            return;
        if (!recorded)
            Events.Add(new ConnectionEvent(time.GetUtcNow(), entry.Id, old, status, reason, close?.Code, close?.Scope));
        var handler = StatusChanged;
        var subscribers = entry.Subscribers;
        if (handler is null && subscribers.Length == 0)
            return;
        Notify(handler, subscribers, new ConnectionStatusChangedEventArgs(entry.Id, old, status, reason, close?.Code, close?.Scope));
    }

    /// <summary>
    /// Keeps how a connection of the peer ended that was not its active one (pooled, or a duplicate it replaced): the peer's
    /// status does not change, so nobody is notified, but the peer and the event log keep the reason.
    /// </summary>
    public void RecordClose(PeerRecord entry, string reason, CloseReason code, string? scope)
    {
        var now = time.GetUtcNow();
        entry.Closed(new PeerClose(code, scope, now));
        var status = entry.Status ?? ConnectionStatus.Disconnected;
        Events.Add(new ConnectionEvent(now, entry.Id, status, status, reason, code, scope));
    }

    // Apart from SetStatus so that its fast path (nobody listening) allocates no closure. A faulty subscriber
    // must not break a connect, a close or another subscriber.
    private void Notify(EventHandler<ConnectionStatusChangedEventArgs>? handler, Action<ConnectionStatusChangedEventArgs>[] subscribers,
        ConnectionStatusChangedEventArgs args)
    {
        if (handler is not null)
        {
            foreach (EventHandler<ConnectionStatusChangedEventArgs> h in handler.GetInvocationList())
            {
                try
                {
                    h(sender, args);
                }
                catch (Exception ex)
                {
                    Trace.TraceError($"QuDag: a StatusChanged handler threw: {ex}");
                }
            }
        }
        foreach (var s in subscribers)
        {
            try
            {
                s(args);
            }
            catch (Exception ex)
            {
                Trace.TraceError($"QuDag: a status subscriber threw: {ex}");
            }
        }
    }
}
