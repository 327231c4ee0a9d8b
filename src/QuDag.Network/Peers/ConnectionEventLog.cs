namespace QuDag.Network;

/// <summary>A connection status change, as kept in the manager's log of recent events.</summary>
/// <param name="At">When it happened (the manager's clock).</param>
/// <param name="PeerId">The peer.</param>
/// <param name="OldStatus">The status before; null for a peer seen for the first time.</param>
/// <param name="NewStatus">The status after.</param>
/// <param name="Reason">Why, for failures and closes the remote asked for.</param>
/// <param name="CloseReason">For a connection's end: why, from the closed set.</param>
/// <param name="CloseScope">For <see cref="Network.CloseReason.Limit"/>: the scope whose limit closed it.</param>
public sealed record ConnectionEvent(DateTimeOffset At, PeerId PeerId, ConnectionStatus? OldStatus, ConnectionStatus NewStatus, string? Reason,
    CloseReason? CloseReason = null, string? CloseScope = null);

/// <summary>
/// The last <see cref="Capacity"/> connection status changes, oldest overwritten first: what a report or a
/// dashboard shows as "recent events" without an unbounded list. Only real connection changes are logged (those
/// that also stamp <see cref="PeerInfo.LastChange"/>), not statuses recorded with UpdateStatusAsync, whose fast
/// path stays a single atomic write.
/// </summary>
internal sealed class ConnectionEventLog
{
    public const int Capacity = 256;
    private readonly ConnectionEvent[] _events = new ConnectionEvent[Capacity];
    private long _written;

    public void Add(ConnectionEvent item)
    {
        lock (_events)
            _events[_written++ % Capacity] = item;
    }

    /// <summary>The kept events, oldest first.</summary>
    public ConnectionEvent[] Snapshot()
    {
        lock (_events)
        {
            var count = (int)Math.Min(_written, Capacity);
            var result = new ConnectionEvent[count];
            var start = _written - count;
            for (var i = 0; i < count; i++)
                result[i] = _events[(start + i) % Capacity];
            return result;
        }
    }
}
