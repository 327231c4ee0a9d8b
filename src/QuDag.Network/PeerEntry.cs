using System.Net;

namespace QuDag.Network;

/// <summary>What the manager knows of one peer. Status lives in an int so reads and writes are single atomic operations.</summary>
internal sealed class PeerEntry(PeerId id)
{
    private const int Unseen = -1;
    private int _status = Unseen;
    private Action<ConnectionStatusChangedEventArgs>[] _subscribers = [];

    public PeerId Id { get; } = id;

    /// <summary>Serialises connect and disconnect for this peer; status and sends do not take it.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    public volatile EndPoint? EndPoint;

    /// <summary>
    /// The active connection: set under <see cref="Gate"/>, cleared by whoever wins the compare-exchange
    /// (a disconnect or the connection's own close), and that one alone updates the counts and status.
    /// </summary>
    public PeerConnection? Active;

    public volatile string? LastError;

    /// <summary>What the peer last said of itself over identify (null until it did).</summary>
    public P2p.Protocols.Identify.IdentifyMessage? Identify;

    /// <summary>The IP address the peer's last connection came from, to pick among its announced listen addresses.</summary>
    public volatile System.Net.IPAddress? SeenAt;

    /// <summary>The clock's timestamp of the last status change: a long, cheaper to read and write than a date.</summary>
    public long LastChangeTimestamp;

    /// <summary>The peer's circuit breaker: made at a failed dial, dropped at the next success (null while healthy).</summary>
    public PeerCircuit? Circuit;

    /// <summary>Auto-reconnect for this peer: -1 follows the manager's option, 0 off, 1 on.</summary>
    public int AutoReconnect = -1;

    /// <summary>Cancels the running reconnect loop; null when none runs.</summary>
    public CancellationTokenSource? Reconnect;

    /// <summary>The running (or last) reconnect loop.</summary>
    public Task ReconnectLoop = Task.CompletedTask;

    /// <summary>Failed attempts of the current (or last) reconnect loop.</summary>
    public int ReconnectFailures;

    /// <summary>The last backoff the reconnect loop waited, in ticks.</summary>
    public long ReconnectDelayTicks;

    /// <summary>1 while this peer's open circuit is counted in the metrics.</summary>
    public int CircuitCounted;

    /// <summary>Ticks of the last ping round trip (0: none yet); a long so reads are never torn.</summary>
    public long LastRoundTripTicks;

    /// <summary>The last ping round trips (ConnectionManager.GetRoundTrips); made at the first ping.</summary>
    public RoundTripHistory? RoundTrips;

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

    private sealed class Subscription(PeerEntry entry, Action<ConnectionStatusChangedEventArgs> handler) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                entry.Update(handler, add: false);
        }
    }
}
