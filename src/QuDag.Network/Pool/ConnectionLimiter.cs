namespace QuDag.Network;

/// <summary>
/// The open-connection count against the limit (handshaking, active and idle, both directions). A reservation at the
/// limit first has the longest-idle pooled connection closed; with nothing idle it fails with a typed error. It never
/// overshoots: a slot is taken by compare-exchange below the limit, or not at all. A slot is an object with one owner at a
/// time (a dial, then its connection) and goes back with its one <see cref="ConnectionSlot.Dispose"/>: nobody else
/// touches the count.
/// </summary>
/// <param name="max">The limit.</param>
/// <param name="evictLongestIdle">Closes the connection idle longest; false when none is idle. Its close releases its slot.</param>
internal sealed class ConnectionLimiter(int max, Func<ValueTask<bool>> evictLongestIdle)
{
    private int _open;
    private int _max = max;

    /// <summary>
    /// The limit. It may change while connections are open: lowered below <see cref="Open"/>, reservations are refused
    /// (or evict idle connections) until enough connections closed; nothing open is cut here.
    /// </summary>
    public int Max
    {
        get => Volatile.Read(ref _max);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Max));
            Volatile.Write(ref _max, value);
        }
    }

    /// <summary>Slots held right now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>The scope a close or a refusal at this limit names: MaxConnections is the system scope's established limit.</summary>
    public const string ScopeName = "system";

    /// <summary>Takes a slot, closing the longest-idle pooled connection if that makes room.</summary>
    /// <exception cref="ConnectionLimitReachedException">At the limit with nothing idle to close.</exception>
    public async ValueTask<ConnectionSlot> ReserveAsync(PeerId? peerId)
    {
        while (true)
        {
            var open = Volatile.Read(ref _open);
            var limit = Max;
            if (open < limit)
            {
                if (Interlocked.CompareExchange(ref _open, open + 1, open) == open)
                    return new ConnectionSlot(this);
                continue;
            }
            if (!await evictLongestIdle().ConfigureAwait(false))
                throw new ConnectionLimitReachedException(limit, peerId);
        }
    }

    /// <summary>Gives a slot back: <see cref="ConnectionSlot.Dispose"/> alone calls it.</summary>
    internal void Release()
    {
        var left = Interlocked.Decrement(ref _open);
        System.Diagnostics.Debug.Assert(left >= 0, "a slot was released twice");
    }
}

/// <summary>
/// One slot under the <see cref="ConnectionLimiter"/>. Whoever holds it gives it back with <see cref="Dispose"/>; a second
/// Dispose does nothing, so a hand-over that races a close can never release it twice.
/// </summary>
internal sealed class ConnectionSlot(ConnectionLimiter limiter) : IDisposable
{
    private ConnectionLimiter? _limiter = limiter;

    public void Dispose() => Interlocked.Exchange(ref _limiter, null)?.Release();
}
