using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Internal;

namespace QuDag.Network;

/// <summary>
/// Live connections whose peer was disconnected, waiting to be reused. Expiry is a <see cref="MemoryCache"/>
/// with a sliding window of the pool timeout; since the cache only scans when touched, a timer compacts it
/// (as SocketsHttpHandler scavenges its pool), and the eviction callback closes the connection.
/// </summary>
internal sealed class IdlePool<TConnection> : IDisposable where TConnection : class, IIdleConnection
{
    private readonly MemoryCache _cache;
    // Lists and ranks the pool without touching cache entries, which would refresh their sliding window.
    private readonly ConcurrentDictionary<PeerId, Pooled> _byPeer = new();
    private readonly TimeProvider _time;
    private readonly ITimer _scavenger;
    private readonly Action<TConnection> _onExpired;
    private int _count;
    private long _sequence;

    public IdlePool(TimeSpan timeout, TimeProvider time, Action<TConnection> onExpired)
    {
        _timeoutTicks = timeout.Ticks;
        _time = time;
        _onExpired = onExpired;
        _cache = new MemoryCache(new MemoryCacheOptions { Clock = new Clock(time), ExpirationScanFrequency = ScanInterval(timeout) });
        var interval = ScanInterval(timeout);
        _scavenger = time.CreateTimer(static state => ((IdlePool<TConnection>)state!)._cache.Compact(0), this, interval, interval);
    }

    private long _timeoutTicks;

    /// <summary>How long a connection may wait unused; <see cref="ChangeTimeout"/> changes it while connections wait.</summary>
    public TimeSpan Timeout => TimeSpan.FromTicks(Volatile.Read(ref _timeoutTicks));

    /// <summary>
    /// Takes a new timeout while connections wait: each waiting connection keeps the time it was pooled and now expires
    /// at that time plus the new timeout (at the next scan if that is past), and the scavenger moves to the new period.
    /// </summary>
    public void ChangeTimeout(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, nameof(timeout));
        Volatile.Write(ref _timeoutTicks, timeout.Ticks);
        var interval = ScanInterval(timeout);
        _scavenger.Change(interval, interval);
        var now = _time.GetUtcNow();
        foreach (var (_, pooled) in _byPeer)
        {
            if (Volatile.Read(ref pooled.Claimed) != 0)
                continue;
            // Replacing the entry fires the old one's callback as Replaced, which OnEvicted ignores. One claimed
            // meanwhile leaves a stale entry whose expiry finds it claimed and does nothing.
            var left = timeout - (now - pooled.Since);
            Cache(pooled, left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1));
        }
    }

    public int Count => Volatile.Read(ref _count);

    private static TimeSpan ScanInterval(TimeSpan timeout) => IdlePool.ScanInterval(timeout);

    public void Add(TConnection connection)
    {
        var pooled = new Pooled(connection, _time.GetUtcNow(), Interlocked.Increment(ref _sequence));
        if (!_byPeer.TryAdd(connection.RemoteId, pooled))
            throw new InvalidOperationException($"Peer {connection.RemoteId.ToShortString()} already has a pooled connection.");
        Interlocked.Increment(ref _count);
        Cache(pooled, Timeout);
    }

    private void Cache(Pooled pooled, TimeSpan window)
    {
        // The Pooled object is the key: a stale Remove can never hit a newer entry for the same peer.
        using var entry = _cache.CreateEntry(pooled);
        entry.Value = pooled;
        entry.SlidingExpiration = window;
        entry.RegisterPostEvictionCallback(static (_, value, reason, state) => ((IdlePool<TConnection>)state!).OnEvicted((Pooled)value!, reason), this);
    }

    /// <summary>Takes the peer's pooled connection if there is one; exactly one caller gets it.</summary>
    public TConnection? TryTake(PeerId peerId) =>
        _byPeer.TryGetValue(peerId, out var pooled) && TryClaim(pooled) ? pooled.Connection : null;

    /// <summary>Takes the connection that has waited longest, to make room under the connection limit.</summary>
    public TConnection? TryTakeOldest()
    {
        while (true)
        {
            Pooled? oldest = null;
            foreach (var (_, pooled) in _byPeer)
            {
                // Ranked by arrival order, not by clock: two entries pooled within one clock tick still rank.
                if (oldest is null || pooled.Order < oldest.Order)
                    oldest = pooled;
            }
            if (oldest is null)
                return null;
            if (TryClaim(oldest))
                return oldest.Connection;
        }
    }

    /// <summary>Drops a connection that closed while pooled.</summary>
    public void Forget(TConnection connection)
    {
        if (_byPeer.TryGetValue(connection.RemoteId, out var pooled) && pooled.Connection == connection)
            TryClaim(pooled);
    }

    /// <summary>The peer's pooled connection and its idle time, without touching the cache.</summary>
    public (TConnection Connection, TimeSpan IdleTime)? Find(PeerId peerId) =>
        _byPeer.TryGetValue(peerId, out var pooled) ? (pooled.Connection, _time.GetUtcNow() - pooled.Since) : null;

    public IReadOnlyList<PooledConnectionInfo> Snapshot()
    {
        var now = _time.GetUtcNow();
        var list = new List<PooledConnectionInfo>();
        foreach (var (peer, pooled) in _byPeer)
        {
            var idle = now - pooled.Since;
            var timeout = Timeout;
            list.Add(new PooledConnectionInfo(peer, pooled.Connection.RemoteEndPoint, pooled.Connection.Inbound, pooled.Since,
                idle, timeout - idle > TimeSpan.Zero ? timeout - idle : TimeSpan.Zero));
        }
        list.Sort((a, b) => a.IdleSince.CompareTo(b.IdleSince));
        return list;
    }

    /// <summary>Claims all pooled connections, for disposal.</summary>
    public List<TConnection> TakeAll()
    {
        var all = new List<TConnection>();
        foreach (var (_, pooled) in _byPeer)
        {
            if (TryClaim(pooled))
                all.Add(pooled.Connection);
        }
        return all;
    }

    private bool TryClaim(Pooled pooled)
    {
        if (Interlocked.Exchange(ref pooled.Claimed, 1) != 0)
            return false;
        _byPeer.TryRemove(new KeyValuePair<PeerId, Pooled>(pooled.Connection.RemoteId, pooled));
        Interlocked.Decrement(ref _count);
        _cache.Remove(pooled);
        return true;
    }

    private void OnEvicted(Pooled pooled, EvictionReason reason)
    {
        // Removed/Replaced come from our own claims; only expiry (or capacity) closes here.
        if (reason is EvictionReason.Removed or EvictionReason.Replaced)
            return;
        if (TryClaim(pooled))
            _onExpired(pooled.Connection);
    }

    public void Dispose()
    {
        _scavenger.Dispose();
        _cache.Dispose();
    }

    private sealed class Pooled(TConnection connection, DateTimeOffset since, long order)
    {
        public readonly TConnection Connection = connection;
        public readonly DateTimeOffset Since = since;
        public readonly long Order = order;
        public int Claimed;
    }

    private sealed class Clock(TimeProvider time) : ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
}

/// <summary>What the pool needs of a connection: whose it is, where it leads, and which side dialed.</summary>
internal interface IIdleConnection
{
    PeerId RemoteId { get; }

    System.Net.EndPoint RemoteEndPoint { get; }

    bool Inbound { get; }
}

/// <summary>The pool's scavenging period.</summary>
internal static class IdlePool
{
    /// <summary>Scans every quarter of the timeout, between 1 and 30 seconds.</summary>
    public static TimeSpan ScanInterval(TimeSpan timeout) =>
        TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 4, TimeSpan.TicksPerSecond, 30 * TimeSpan.TicksPerSecond));
}

/// <summary>An idle connection in the pool.</summary>
/// <param name="PeerId">The peer it leads to.</param>
/// <param name="EndPoint">The remote endpoint.</param>
/// <param name="Inbound">True when the peer dialed us.</param>
/// <param name="IdleSince">When it entered the pool.</param>
/// <param name="IdleTime">How long it has waited.</param>
/// <param name="ExpiresIn">Time left before it is closed, unless reused.</param>
public sealed record PooledConnectionInfo(PeerId PeerId, System.Net.EndPoint EndPoint, bool Inbound, DateTimeOffset IdleSince,
    TimeSpan IdleTime, TimeSpan ExpiresIn);
