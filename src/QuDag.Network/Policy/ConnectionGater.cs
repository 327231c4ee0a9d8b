using System.Collections.Concurrent;
using System.Collections.ObjectModel;

namespace QuDag.Network;

/// <summary>Which connections a gater rule applies to.</summary>
[Flags]
public enum GateDirection
{
    /// <summary>Connections the peer opens to this node.</summary>
    Inbound = 1,

    /// <summary>Connections this node opens to the peer.</summary>
    Outbound = 2,

    /// <summary>Both.</summary>
    Both = Inbound | Outbound,
}

/// <summary>
/// Allow and deny lists of peers, per direction. A denied peer is refused; when a direction's allow list is not
/// empty, only the peers on it are admitted. Inbound peers are checked right after the security handshake (Noise or
/// TLS) has proven their key, and refused there; outbound dials are refused before a socket is opened. Thread-safe; changes apply
/// to the next connection (<see cref="ConnectionManager"/> also closes a live connection its peer lost the right to).
/// </summary>
public sealed class ConnectionGater
{
    private readonly ConcurrentDictionary<PeerId, GateDirection> _allowed = new();
    private readonly ConcurrentDictionary<PeerId, GateDirection> _denied = new();
    private int _allowedInbound, _allowedOutbound;

    /// <summary>Creates a gater that allows everyone.</summary>
    public ConnectionGater()
    {
        Allowed = new ReadOnlyDictionary<PeerId, GateDirection>(_allowed);
        Denied = new ReadOnlyDictionary<PeerId, GateDirection>(_denied);
    }

    /// <summary>Raised after a rule changes, with the peer concerned.</summary>
    public event Action<PeerId>? Changed;

    /// <summary>Puts a peer on the allow list of <paramref name="direction"/>.</summary>
    public void Allow(PeerId peerId, GateDirection direction = GateDirection.Both) => Set(_allowed, peerId, direction, add: true);

    /// <summary>Puts a peer on the deny list of <paramref name="direction"/>.</summary>
    public void Deny(PeerId peerId, GateDirection direction = GateDirection.Both) => Set(_denied, peerId, direction, add: true);

    /// <summary>Takes a peer off the allow list of <paramref name="direction"/>.</summary>
    public void RemoveAllow(PeerId peerId, GateDirection direction = GateDirection.Both) => Set(_allowed, peerId, direction, add: false);

    /// <summary>Takes a peer off the deny list of <paramref name="direction"/>.</summary>
    public void RemoveDeny(PeerId peerId, GateDirection direction = GateDirection.Both) => Set(_denied, peerId, direction, add: false);

    /// <summary>Whether <paramref name="peerId"/> may connect in <paramref name="direction"/> (one direction).</summary>
    public bool IsAllowed(PeerId peerId, GateDirection direction)
    {
        if (_denied.TryGetValue(peerId, out var denied) && (denied & direction) != 0)
            return false;
        var listed = direction == GateDirection.Inbound ? Volatile.Read(ref _allowedInbound) : Volatile.Read(ref _allowedOutbound);
        return listed == 0 || (_allowed.TryGetValue(peerId, out var allowed) && (allowed & direction) == direction);
    }

    /// <summary>The allow list, each peer with its directions: a live read-only view, so a lookup copies nothing.</summary>
    public IReadOnlyDictionary<PeerId, GateDirection> Allowed { get; }

    /// <summary>The deny list, each peer with its directions: a live read-only view.</summary>
    public IReadOnlyDictionary<PeerId, GateDirection> Denied { get; }

    private void Set(ConcurrentDictionary<PeerId, GateDirection> list, PeerId peerId, GateDirection direction, bool add)
    {
        if (direction == 0 || (direction & ~GateDirection.Both) != 0)
            throw new ArgumentOutOfRangeException(nameof(direction), direction, "Not a GateDirection.");
        lock (list) // rules change rarely; the lock keeps the per-direction counts exact
        {
            var before = list.TryGetValue(peerId, out var d) ? d : 0;
            var after = add ? before | direction : before & ~direction;
            if (after == before)
                return;
            if (after == 0)
                list.TryRemove(peerId, out _);
            else
                list[peerId] = after;
            if (ReferenceEquals(list, _allowed))
            {
                _allowedInbound += Delta(before, after, GateDirection.Inbound);
                _allowedOutbound += Delta(before, after, GateDirection.Outbound);
            }
        }
        Changed?.Invoke(peerId);
    }

    private static int Delta(GateDirection before, GateDirection after, GateDirection bit) =>
        ((after & bit) != 0 ? 1 : 0) - ((before & bit) != 0 ? 1 : 0);
}
