using System.Collections.Concurrent;

namespace QuDag.Network;

/// <summary>What became of a departed peer the table was asked to forget.</summary>
internal enum ForgetOutcome
{
    /// <summary>Removed from the table.</summary>
    Forgotten,

    /// <summary>Kept: named through the API, or connected (or pooled) again; its next departure queues it again.</summary>
    Kept,

    /// <summary>In use right now (a connect, an accept, a reconnect loop): asked again later.</summary>
    Busy,
}

/// <summary>
/// The peers known only from their own inbound connections, once those have closed, longest gone first. The table keeps
/// at most <c>capacity</c> of them, so their status and identify stay visible for a while, and forgets the longest gone
/// beyond that: a remote connecting with ever fresh ids cannot grow the peer table (and the identify data on each
/// entry, up to 64 KiB) without bound. Named peers are never queued.
/// </summary>
internal sealed class DepartedPeers(int capacity, Func<PeerEntry, ForgetOutcome> tryForget)
{
    private readonly ConcurrentQueue<PeerEntry> _queue = new();
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>A connection of the peer's closed: queue it once, and forget the longest gone beyond the capacity.</summary>
    public void Add(PeerEntry entry)
    {
        if (entry.IsNamed || entry.IsForgotten || !entry.TryDepart())
            return;
        Enqueue(entry);
        // At most two per departure, so a run of busy ones is retried later instead of spun on; the queue still returns
        // to its capacity, since each departure adds one.
        for (int i = 0; i < 2 && Volatile.Read(ref _count) > capacity && _queue.TryDequeue(out var oldest); i++)
        {
            Interlocked.Decrement(ref _count);
            oldest.LeftDeparted();
            if (tryForget(oldest) == ForgetOutcome.Busy && oldest.TryDepart())
                Enqueue(oldest);
        }
    }

    private void Enqueue(PeerEntry entry)
    {
        _queue.Enqueue(entry);
        Interlocked.Increment(ref _count);
    }
}
