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

    /// <summary>The address-book endpoint (AddPeer, or the endpoint of a connect).</summary>
    public volatile EndPoint? EndPoint;

    public volatile string? LastError;

    /// <summary>What the peer last said of itself over identify (null until it did).</summary>
    public P2p.Protocols.Identify.IdentifyMessage? Identify;

    /// <summary>The IP address the peer's last connection came from, to pick among its announced listen addresses.</summary>
    public volatile IPAddress? SeenAt;

    /// <summary>The clock's timestamp of the last status change: a long, cheaper to read and write than a date.</summary>
    public long LastChangeTimestamp;

    private PeerClose? _lastClose;

    /// <summary>How the peer's last connection ended (or its last dial was refused), and when.</summary>
    public PeerClose? LastClose
    {
        get => Volatile.Read(ref _lastClose);
        set => Volatile.Write(ref _lastClose, value);
    }

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

    /// <returns>The previous status, or null for a peer seen for the first time.</returns>
    public ConnectionStatus? Exchange(ConnectionStatus status)
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
