using System.Net;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Resources;

/// <summary>
/// What one connection holds, as go-libp2p's connection scope: its slot in the system scope from the moment it opens
/// (pending and established: MaxConnections counts handshakes too), in the transient scope while it is pending, then
/// (once <see cref="SetPeer"/> proved the remote) in its peer's scope instead; its subnet slot, inbound; and the memory
/// its streams buffer (its own <see cref="Self"/> scope). The resource manager opens it, the upgrader attaches the
/// peer, the muxer opens <see cref="StreamScope"/>s on it, and one <see cref="Dispose"/> gives everything back,
/// whenever and however often it is called. With accounting off (<see cref="ResourceManagerOptions.Enabled"/>) it holds
/// its system slot and nothing else.
/// </summary>
public sealed class ConnectionScope : IDisposable
{
    private readonly ResourceManager _manager;
    private readonly Lock _lock = new();
    private readonly IPAddress? _address;
    private readonly bool _accounted; // false: accounting is off, only the system scope's connection count is kept
    private UInt128? _subnet;        // inbound, not exempt by the allowlist: its subnet slot
    private bool _subnetPending;     // the subnet slot still counts as pending
    private bool _allowlisted;
    private bool _lostExemption;     // allowlisted by address, proved another peer: judged at SetPeer (again after relief)
    private bool _inSystem;          // its slot in the system scope is taken (EnterSystem)
    private ResourceScope? _peer;    // set by SetPeer
    private PeerId _peerId;
    private bool _disposed;
    private int _holders = 1;        // this connection, plus each open stream scope: the peer scope is let go at zero

    internal ConnectionScope(ResourceManager manager, bool inbound, IPAddress? address, bool allowlisted, UInt128? subnet, ResourceScope self,
        bool accounted = true)
    {
        _manager = manager;
        Inbound = inbound;
        _address = address;
        _allowlisted = allowlisted;
        _subnet = subnet;
        _subnetPending = subnet is not null;
        _accounted = accounted;
        Self = self;
    }

    /// <summary>Accepted (true) or dialed.</summary>
    public bool Inbound { get; }

    /// <summary>The connection's own scope: the memory its streams buffer.</summary>
    public ResourceScope Self { get; }

    /// <summary>The peer, once its handshake proved it.</summary>
    public PeerId? Peer
    {
        get { lock (_lock) return _peer is null ? null : _peerId; }
    }

    /// <summary>True while an allowlist entry exempts the connection from the system and transient limits.</summary>
    public bool IsAllowlisted
    {
        get { lock (_lock) return _allowlisted; }
    }

    internal ResourceManager Manager => _manager;

    /// <summary>The scope the muxer's streams reserve in: null when accounting is off (streams are then not counted).</summary>
    internal ConnectionScope? ForStreams => _accounted ? this : null;

    private ResourceDelta Slot => ResourceDelta.Connection(Inbound);

    /// <summary>Takes the connection's slot in the system scope (forced when allowlisted); the refusal, or null.</summary>
    internal ResourceLimitExceededException? TryEnterSystem(bool countBlocked)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_inSystem)
                return null;
            if (_manager.System.TryReserve(Slot, force: _allowlisted, countBlocked) is { } full)
                return full;
            _inSystem = true;
            return null;
        }
    }

    /// <summary>
    /// <see cref="TryEnterSystem"/>, but when the system scope is full it first asks the owner for room
    /// (<see cref="ResourceManager.Relief"/>) and tries again for as long as the owner frees something. Only the final
    /// refusal counts as blocked.
    /// </summary>
    /// <exception cref="ResourceLimitExceededException">The system scope is full and nothing could be freed.</exception>
    internal async ValueTask EnterSystemAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var relief = _manager.Relief;
            if (TryEnterSystem(countBlocked: relief is null) is not { } refused)
                return;
            cancellationToken.ThrowIfCancellationRequested();
            if (relief is null)
                throw refused;
            if (!await relief(Inbound, cancellationToken).ConfigureAwait(false))
            {
                _manager.System.CountBlocked(refused);
                throw refused;
            }
        }
    }

    /// <summary>
    /// The handshake proved the remote is <paramref name="peer"/>: the connection leaves the transient scope for the
    /// peer's (it counts in the system scope already, from its open). An allowlist entry that names another peer at this
    /// address no longer exempts it: it is judged against the transient and the system limits as if it had reserved like
    /// any other. On a refusal nothing moves: the connection is still pending, and the caller closes it.
    /// </summary>
    /// <exception cref="ResourceLimitExceededException">The peer's scope is full, or (an allowlist entry for another
    /// peer) the transient or the system scope.</exception>
    /// <exception cref="InvalidOperationException">The peer was set already.</exception>
    /// <exception cref="ObjectDisposedException">The scope was released.</exception>
    public void SetPeer(PeerId peer)
    {
        if (TrySetPeer(peer, countBlocked: true) is { } refused)
            throw refused;
    }

    /// <summary>
    /// <see cref="SetPeer"/>, but when the system scope refuses a connection that lost its allowlist exemption it first
    /// asks the owner for room (<see cref="ResourceManager.Relief"/>) and tries again while the owner frees slots.
    /// </summary>
    /// <exception cref="ResourceLimitExceededException">A scope is full and nothing could be freed.</exception>
    public async ValueTask SetPeerAsync(PeerId peer, CancellationToken cancellationToken)
    {
        while (true)
        {
            var relief = _manager.Relief;
            var refused = TrySetPeer(peer, countBlocked: relief is null);
            if (refused is null)
                return;
            cancellationToken.ThrowIfCancellationRequested();
            if (relief is null || refused.Scope != ResourceScopeKind.System)
                throw refused;
            if (!await relief(Inbound, cancellationToken).ConfigureAwait(false))
            {
                _manager.System.CountBlocked(refused);
                throw refused;
            }
        }
    }

    // countBlocked: whether a system refusal counts now (SetPeerAsync counts it itself once relief failed); the others always do.
    private ResourceLimitExceededException? TrySetPeer(PeerId peer, bool countBlocked)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_accounted)
                return null;
            if (_peer is not null)
                throw new InvalidOperationException($"The connection scope already belongs to peer {_peerId}.");
            if (_allowlisted && _address is not null && !_manager.Allowlist.Allows(_address, peer))
            {
                _allowlisted = false;
                _lostExemption = true;
            }
            if (_lostExemption)
            {
                // Almost allowlisted: it must not keep the exemption. Its slots were forced; judged as if it had
                // reserved like any other, it passes when no count is over its limit with it.
                foreach (var scope in (ReadOnlySpan<ResourceScope>)[_manager.Transient, _manager.System])
                {
                    if (scope.CheckWithinLimits() is { } over)
                    {
                        if (countBlocked || scope.Kind != ResourceScopeKind.System)
                            scope.CountBlocked(over);
                        return over;
                    }
                }
            }
            var peerScope = _manager.AcquirePeer(peer);
            if (peerScope.TryReserve(Slot) is { } peerFull)
            {
                _manager.ReleasePeer(peer);
                return peerFull;
            }
            _manager.Transient.Release(Slot);
            if (_subnetPending)
            {
                _manager.Subnets.Established(_subnet!.Value);
                _subnetPending = false;
            }
            _lostExemption = false;
            _peer = peerScope;
            _peerId = peer;
            return null;
        }
    }

    /// <summary>Reserves a new stream of this connection in its peer's and the system scope.</summary>
    /// <exception cref="ResourceLimitExceededException">The peer's or the system scope has its limit of streams.</exception>
    /// <exception cref="InvalidOperationException">No peer yet: streams exist only on established connections.</exception>
    /// <exception cref="ObjectDisposedException">The connection's scope was released.</exception>
    public StreamScope OpenStream(bool inbound)
    {
        ResourceScope peer;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            peer = _peer ?? throw new InvalidOperationException("A stream needs an established connection (SetPeer first).");
            _holders++;
        }
        var slot = ResourceDelta.Stream(inbound);
        if (peer.TryReserve(slot) is { } peerFull)
        {
            Unhold();
            throw peerFull;
        }
        if (_manager.System.TryReserve(slot) is { } systemFull)
        {
            peer.Release(slot);
            Unhold();
            throw systemFull;
        }
        return new StreamScope(this, peer, inbound, _manager.NewStreamScope());
    }

    /// <summary>A stream scope let go of the connection (called once per stream scope).</summary>
    internal void Unhold()
    {
        PeerId released;
        lock (_lock)
        {
            if (--_holders != 0 || _peer is null)
                return;
            released = _peerId;
        }
        _manager.ReleasePeer(released);
    }

    /// <summary>Gives back the connection's slots (system, and transient or peer), its subnet slot, and the peer scope once
    /// its streams have gone too. Idempotent.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            if (_inSystem)
                _manager.System.Release(Slot);
            if (_accounted)
                (_peer ?? _manager.Transient).Release(Slot); // pending, or established in its peer's scope
            if (_subnet is { } subnet)
                _manager.Subnets.Closed(subnet, _subnetPending);
        }
        Unhold();
    }

    public override string ToString() => $"{(Inbound ? "inbound" : "outbound")} connection scope{(Peer is { } p ? " of " + p : "")}";
}
