using System.Net;

namespace QuDag.Network;

/// <summary>
/// What the peer table knows of one peer: its status (an int, so reads and writes are single atomic operations), its
/// per-peer subscribers, when the status last changed, and where the peer is reached. Other parts hang their own
/// per-peer state on a derived entry (see <c>Dialing/PeerEntry</c>), so a lookup stays one dictionary read.
/// </summary>
internal class PeerRecord(PeerId id)
{
    private const int Unseen = -1;
    private const int Learned = 0, Named = 1, Forgotten = 2;
    private int _status = Unseen;
    private int _retention; // Learned | Named | Forgotten
    private Action<ConnectionStatusChangedEventArgs>[] _subscribers = [];

    public PeerId Id { get; } = id;

    private volatile EndPoint? _endPoint;
    private volatile string? _lastError;
    private P2p.Protocols.Identify.IdentifyMessage? _identify;
    private volatile IPAddress? _seenAt;
    private long _lastChangeTimestamp;
    private PeerClose? _lastClose;

    /// <summary>The address-book endpoint (AddPeer, or the endpoint of a connect).</summary>
    public EndPoint? EndPoint => _endPoint;

    /// <summary>Why the peer last failed (the reason of its last Failed status); cleared when it connects.</summary>
    public string? LastError => _lastError;

    /// <summary>What the peer last said of itself over identify (null until it did).</summary>
    public P2p.Protocols.Identify.IdentifyMessage? Identify => Volatile.Read(ref _identify);

    /// <summary>The IP address the peer's last identified connection came from, to pick among its announced listen addresses.</summary>
    public IPAddress? SeenAt => _seenAt;

    /// <summary>The clock's timestamp of the last status change (0: none): a long, cheaper to read and write than a date.</summary>
    public long LastChangeTimestamp => Volatile.Read(ref _lastChangeTimestamp);

    /// <summary>How the peer's last connection ended (or its last dial was refused), and when.</summary>
    public PeerClose? LastClose => Volatile.Read(ref _lastClose);

    /// <summary>The peer is reached at <paramref name="endPoint"/> (the address book).</summary>
    public void ReachedAt(EndPoint endPoint) => _endPoint = endPoint;

    /// <summary>The peer said who it is over identify; <paramref name="seenAt"/>, when known, is the IP it spoke from.</summary>
    public void Identified(P2p.Protocols.Identify.IdentifyMessage identify, IPAddress? seenAt)
    {
        Volatile.Write(ref _identify, identify);
        if (seenAt is not null)
            _seenAt = seenAt;
    }

    /// <summary>
    /// The status changes (the peer table's <c>SetStatus</c>): stamped with <paramref name="timestamp"/> unless null, a
    /// Failed one keeps its reason as the last error, and <paramref name="close"/> is how the connection ended.
    /// </summary>
    /// <returns>The previous status, or null for a peer seen for the first time.</returns>
    public ConnectionStatus? ChangeStatus(ConnectionStatus status, string? reason, long? timestamp, PeerClose? close)
    {
        var old = Exchange(status);
        if (timestamp is { } stamp)
            Volatile.Write(ref _lastChangeTimestamp, stamp);
        if (status == ConnectionStatus.Failed && reason is not null)
            _lastError = reason;
        if (close is not null)
            Volatile.Write(ref _lastClose, close);
        return old;
    }

    /// <summary>A connection of the peer that was not its active one ended (its status stays).</summary>
    public void Closed(PeerClose close) => Volatile.Write(ref _lastClose, close);

    /// <summary>The peer connected: its last failure is history.</summary>
    protected void ClearLastError() => _lastError = null;

    /// <summary>
    /// The API named this peer (address book, connect, status, subscription, reconnect setting, identify): the table
    /// keeps it. A peer only ever learned from its own inbound connection may be forgotten once it has gone.
    /// </summary>
    public bool IsNamed => Volatile.Read(ref _retention) == Named;

    /// <summary>Removed from the table: whoever holds this entry must look the peer up again.</summary>
    public bool IsForgotten => Volatile.Read(ref _retention) == Forgotten;

    /// <summary>Marks the peer named; false if it was forgotten first (look it up again).</summary>
    public bool TryName() =>
        Volatile.Read(ref _retention) == Named || Interlocked.CompareExchange(ref _retention, Named, Learned) != Forgotten;

    /// <summary>Marks the peer forgotten; false if it was named first.</summary>
    public bool TryMarkForgotten() => Interlocked.CompareExchange(ref _retention, Forgotten, Learned) == Learned;

    public ConnectionStatus? Status
    {
        get
        {
            var s = Volatile.Read(ref _status);
            return s == Unseen ? null : (ConnectionStatus)s;
        }
    }

    private ConnectionStatus? Exchange(ConnectionStatus status)
    {
        var old = Interlocked.Exchange(ref _status, (int)status);
        return old == Unseen ? null : (ConnectionStatus)old;
    }

    public Action<ConnectionStatusChangedEventArgs>[] Subscribers => Volatile.Read(ref _subscribers);

    public IDisposable Subscribe(Action<ConnectionStatusChangedEventArgs> handler)
    {
        Update(handler, add: true);
        return new Subscription(this, handler);
    }

    // Copy-on-write, so raising an event never locks and never sees a half-changed list.
    private void Update(Action<ConnectionStatusChangedEventArgs> handler, bool add)
    {
        while (true)
        {
            var current = Volatile.Read(ref _subscribers);
            var index = Array.IndexOf(current, handler);
            if (!add && index < 0)
                return;
            Action<ConnectionStatusChangedEventArgs>[] next = add ? [.. current, handler] : [.. current[..index], .. current[(index + 1)..]];
            if (Interlocked.CompareExchange(ref _subscribers, next, current) == current)
                return;
        }
    }

    private sealed class Subscription(PeerRecord entry, Action<ConnectionStatusChangedEventArgs> handler) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                entry.Update(handler, add: false);
        }
    }
}

/// <summary>How a peer's connection ended: the reason, for a limit its scope, and when.</summary>
internal sealed record PeerClose(CloseReason Reason, string? Scope, DateTimeOffset At);
