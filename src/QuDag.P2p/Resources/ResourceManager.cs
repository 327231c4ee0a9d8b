using System.Collections.Concurrent;
using System.Net;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Resources;

/// <summary>
/// The node's resource accounting, after go-libp2p's resource manager: a system scope (every connection from its open,
/// pending and established, and every stream), a transient scope (connections whose peer is not proven yet), a scope
/// per peer and per protocol, and before any of them the process memory bound and the per-subnet inbound count and
/// rate. A connection gets a <see cref="ConnectionScope"/> from <see cref="OpenConnection"/> (or
/// <see cref="OpenConnectionAsync"/>, which first asks the owner for room at the system scope's limit) and a stream a
/// <see cref="StreamScope"/>; each holds what it reserved and gives all of it back with one Dispose. Limits change
/// live (<see cref="SetLimits"/>): the next reservation sees them, what is held stays.
/// </summary>
public sealed class ResourceManager
{
    // The Self of every scope made with accounting off: nothing reserves in it.
    private static readonly ResourceScope s_off = new(ResourceScopeKind.Connection, "", ResourceLimits.None, null);
    private readonly Lock _peersLock = new();
    private readonly Dictionary<PeerId, PeerSlot> _peers = [];
    private readonly ConcurrentDictionary<string, ResourceScope> _protocols = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<PeerId, ResourceLimits> _peerLimits = new();
    private readonly ConcurrentDictionary<string, ResourceLimits> _protocolLimits = new(StringComparer.Ordinal);
    private readonly Action<ResourceLimitExceededException> _onBlocked;
    private ResourceManagerOptions _options;
    private IPNetwork[] _exempt;
    private long _processBlocked;

    /// <summary>A manager with <paramref name="options"/> (the machine's scaled defaults when null).</summary>
    /// <param name="options">The limits; null for the machine's scaled defaults.</param>
    /// <param name="timeProvider">The clock of the subnet rate (the system clock when null).</param>
    /// <param name="maxPendingPerSubnet">The pending inbound handshakes one subnet may hold (the host's per-address cap).</param>
    /// <param name="readResidentBytes">Reads the process's resident memory (tests pass their own).</param>
    public ResourceManager(ResourceManagerOptions? options = null, TimeProvider? timeProvider = null, int maxPendingPerSubnet = 8,
        Func<long>? readResidentBytes = null)
    {
        _options = options ?? new ResourceManagerOptions();
        _options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPendingPerSubnet, 1);
        var time = timeProvider ?? TimeProvider.System;
        _onBlocked = e => Blocked?.Invoke(e);
        _exempt = ParseExempt(_options.InboundSubnets);
        System = new ResourceScope(ResourceScopeKind.System, "", _options.System, _onBlocked);
        Transient = new ResourceScope(ResourceScopeKind.Transient, "", _options.Transient, _onBlocked);
        foreach (var (peer, limits) in _options.Peers)
            _peerLimits[PeerId.Parse(peer)] = limits;
        foreach (var (protocol, limits) in _options.Protocols)
            _protocolLimits[protocol] = limits;
        Allowlist = new Allowlist(_options.Allowlist);
        Subnets = new InboundSubnetLimiter(() => maxPendingPerSubnet, () => Volatile.Read(ref _options).InboundSubnets, time);
        Memory = new ProcessMemoryBound(() => Volatile.Read(ref _options).MaxProcessMemoryBytes, time, readResidentBytes ?? ProcessMemoryBound.ReadResidentBytes);
    }

    /// <summary>
    /// Asked when the system scope has no room for a new connection (<see cref="OpenConnectionAsync"/>, and a connection
    /// whose allowlist exemption turned out to name another peer): the owner may free one and the open tries again. The
    /// connection manager evicts its longest-idle pooled connection here and, for a dial with TrimAtLimit, trims one.
    /// </summary>
    public ConnectionRelief? Relief { get; set; }

    /// <summary>Raised on every refused reservation, on the refusing thread (metrics count them by scope).</summary>
    public event Action<ResourceLimitExceededException>? Blocked;

    /// <summary>The options now (limits set live are in them).</summary>
    public ResourceManagerOptions Options => Volatile.Read(ref _options);

    /// <summary>False when accounting is off (<see cref="ResourceManagerOptions.Enabled"/>): only the system scope's
    /// connection count is kept.</summary>
    public bool Enabled => Options.Enabled;

    /// <summary>Every connection from its open (pending and established, by direction) and every stream.</summary>
    public ResourceScope System { get; }

    /// <summary>Connections whose peer is not proven yet.</summary>
    public ResourceScope Transient { get; }

    /// <summary>Addresses exempt from the system, transient and subnet limits.</summary>
    public Allowlist Allowlist { get; }

    /// <summary>Connections refused by the process memory bound.</summary>
    public long ProcessBlocked => Interlocked.Read(ref _processBlocked);

    internal InboundSubnetLimiter Subnets { get; }

    internal ProcessMemoryBound Memory { get; }

    /// <summary>
    /// Reserves a new connection: after the process memory bound and, inbound, the subnet count and rate, it is pending
    /// in the transient scope and counts in the system scope (MaxConnections under a connection manager). At the
    /// system scope's limit it is refused at once; <see cref="OpenConnectionAsync"/> asks the owner for room first.
    /// With accounting off it takes only its system slot.
    /// </summary>
    /// <param name="inbound">Accepted (true) or dialed.</param>
    /// <param name="remote">The remote's address: what the subnet limits and the allowlist look at.</param>
    /// <exception cref="ResourceLimitExceededException">A limit refused it; the message names the scope.</exception>
    public ConnectionScope OpenConnection(bool inbound, EndPoint? remote)
    {
        var scope = OpenPending(inbound, remote);
        if (scope.TryEnterSystem(countBlocked: true) is { } full)
        {
            scope.Dispose();
            throw full;
        }
        return scope;
    }

    /// <summary>
    /// <see cref="OpenConnection"/>, but at the system scope's connection limit it first asks <see cref="Relief"/> to
    /// free a connection and tries again while it does; only then is it refused (and counted blocked once).
    /// </summary>
    /// <exception cref="ResourceLimitExceededException">A limit refused it; the message names the scope.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while it waited for room.</exception>
    public async ValueTask<ConnectionScope> OpenConnectionAsync(bool inbound, EndPoint? remote, CancellationToken cancellationToken)
    {
        var scope = OpenPending(inbound, remote);
        try
        {
            await scope.EnterSystemAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            scope.Dispose();
            throw;
        }
        return scope;
    }

    /// <summary>
    /// The cheap half of an open, for the accept loop: the process memory bound, the subnet count and rate, the transient
    /// scope. The system slot is taken later with <see cref="ConnectionScope.EnterSystemAsync"/>, in the connection's own
    /// task, since making room there may have to wait for another connection to close.
    /// </summary>
    /// <exception cref="ResourceLimitExceededException">A limit refused it; the message names the scope.</exception>
    internal ConnectionScope OpenPending(bool inbound, EndPoint? remote)
    {
        var options = Options;
        IPAddress? ip = (remote as IPEndPoint)?.Address;
        bool allowlisted = ip is not null && Allowlist.Covers(ip);
        if (!options.Enabled)
            return new ConnectionScope(this, inbound, ip, allowlisted, subnet: null, s_off, accounted: false);
        if (Memory.Check() is { } overMemory)
        {
            Interlocked.Increment(ref _processBlocked);
            Blocked?.Invoke(overMemory);
            throw overMemory;
        }
        UInt128? subnet = null;
        if (inbound && ip is not null && !allowlisted)
        {
            UInt128 key = Subnets.KeyOf(ip);
            if (Subnets.TryOpen(ip, key, exempt: IsExempt(ip)) is { } refused)
            {
                Blocked?.Invoke(refused);
                throw refused;
            }
            subnet = key;
        }
        if (Transient.TryReserve(ResourceDelta.Connection(inbound), force: allowlisted) is { } full)
        {
            if (subnet is { } taken)
                Subnets.Closed(taken, pending: true);
            throw full;
        }
        return new ConnectionScope(this, inbound, ip, allowlisted, subnet, new ResourceScope(ResourceScopeKind.Connection, "", options.Connection, _onBlocked));
    }

    /// <summary>Every scope of <paramref name="kind"/> (all of system, transient, peer and protocol when null).</summary>
    public IReadOnlyList<ResourceUsage> GetUsage(ResourceScopeKind? kind = null)
    {
        var list = new List<ResourceUsage>();
        if (kind is null or ResourceScopeKind.System)
            list.Add(System.Usage());
        if (kind is null or ResourceScopeKind.Transient)
            list.Add(Transient.Usage());
        if (kind is null or ResourceScopeKind.Peer)
        {
            ResourceScope[] peers;
            lock (_peersLock)
                peers = [.. _peers.Values.Select(p => p.Scope)];
            list.AddRange(peers.Select(p => p.Usage()).OrderBy(u => u.Name, StringComparer.Ordinal));
        }
        if (kind is null or ResourceScopeKind.Protocol)
            list.AddRange(_protocols.Values.Select(p => p.Usage()).OrderBy(u => u.Name, StringComparer.Ordinal));
        return list;
    }

    /// <summary>The scope of a peer that holds a connection now, or null.</summary>
    public ResourceScope? FindPeer(PeerId peer)
    {
        lock (_peersLock)
            return _peers.TryGetValue(peer, out var slot) ? slot.Scope : null;
    }

    /// <summary>The scope of a protocol any stream has used, or null.</summary>
    public ResourceScope? FindProtocol(string protocol) => _protocols.GetValueOrDefault(protocol);

    /// <summary>The limits a scope has (or a peer or protocol scope would get).</summary>
    /// <param name="kind">System, Transient, Peer or Protocol.</param>
    /// <param name="name">For <see cref="ResourceScopeKind.Peer"/> a peer id, for <see cref="ResourceScopeKind.Protocol"/> a
    /// protocol id; null for the default of every peer or protocol not set by name.</param>
    public ResourceLimits GetLimits(ResourceScopeKind kind, string? name = null) => kind switch
    {
        ResourceScopeKind.System => System.Limits,
        ResourceScopeKind.Transient => Transient.Limits,
        ResourceScopeKind.Peer => name is null ? Options.PeerDefault : _peerLimits.GetValueOrDefault(PeerId.Parse(name)) ?? Options.PeerDefault,
        ResourceScopeKind.Protocol => name is null ? Options.ProtocolDefault : _protocolLimits.GetValueOrDefault(name) ?? Options.ProtocolDefault,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Limits are set for the system, transient, peer and protocol scopes."),
    };

    /// <summary>
    /// Sets a scope's limits; they apply to the next reservation (what is held stays, as in go and rust). For peer and
    /// protocol scopes <paramref name="name"/> names one (a peer id or a protocol id); null sets the default of all
    /// those not set by name.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative limit, or a scope kind without settable limits.</exception>
    /// <exception cref="FormatException">The peer id does not parse.</exception>
    public void SetLimits(ResourceScopeKind kind, ResourceLimits limits, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        switch (kind)
        {
            case ResourceScopeKind.System:
                System.Limits = limits;
                Update(o => o with { System = limits });
                break;
            case ResourceScopeKind.Transient:
                Transient.Limits = limits;
                Update(o => o with { Transient = limits });
                break;
            case ResourceScopeKind.Peer when name is null:
                Update(o => o with { PeerDefault = limits });
                lock (_peersLock)
                {
                    foreach (var (peer, slot) in _peers)
                        slot.Scope.Limits = _peerLimits.GetValueOrDefault(peer) ?? limits;
                }
                break;
            case ResourceScopeKind.Peer:
                var id = PeerId.Parse(name);
                _peerLimits[id] = limits;
                lock (_peersLock)
                {
                    if (_peers.TryGetValue(id, out var slot))
                        slot.Scope.Limits = limits;
                }
                break;
            case ResourceScopeKind.Protocol when name is null:
                Update(o => o with { ProtocolDefault = limits });
                foreach (var (protocol, scope) in _protocols)
                    scope.Limits = _protocolLimits.GetValueOrDefault(protocol) ?? limits;
                break;
            case ResourceScopeKind.Protocol:
                _protocolLimits[name] = limits;
                if (_protocols.TryGetValue(name, out var existing))
                    existing.Limits = limits;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Limits are set for the system, transient, peer and protocol scopes.");
        }
    }

    /// <summary>Changes the per-subnet inbound limits; they apply to the next inbound connection.</summary>
    public void SetInboundSubnetLimits(InboundSubnetLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        var exempt = ParseExempt(limits);
        Update(o => o with { InboundSubnets = limits });
        Volatile.Write(ref _exempt, exempt);
    }

    /// <summary>Sets (or with null removes) the process memory bound.</summary>
    public void SetMaxProcessMemory(long? maxBytes)
    {
        if (maxBytes is < 1)
            throw new ArgumentOutOfRangeException(nameof(maxBytes), maxBytes, "The process memory bound must be positive.");
        Update(o => o with { MaxProcessMemoryBytes = maxBytes });
    }

    private void Update(Func<ResourceManagerOptions, ResourceManagerOptions> change)
    {
        while (true)
        {
            var current = Volatile.Read(ref _options);
            if (Interlocked.CompareExchange(ref _options, change(current), current) == current)
                return;
        }
    }

    private bool IsExempt(IPAddress ip)
    {
        var address = ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
        foreach (var network in Volatile.Read(ref _exempt))
        {
            if (network.Contains(address))
                return true;
        }
        return false;
    }

    private static IPNetwork[] ParseExempt(InboundSubnetLimits limits) => [.. limits.Exempt.Select(n => IPNetwork.Parse(n))];

    // ---- called by ConnectionScope and StreamScope ------------------------------------------------------

    /// <summary>The peer's scope with one more holder; made with the peer's limits when it had none.</summary>
    internal ResourceScope AcquirePeer(PeerId peer)
    {
        lock (_peersLock)
        {
            if (!_peers.TryGetValue(peer, out var slot))
            {
                var limits = _peerLimits.GetValueOrDefault(peer) ?? Options.PeerDefault;
                _peers[peer] = slot = new PeerSlot(new ResourceScope(ResourceScopeKind.Peer, peer.ToString(), limits, _onBlocked));
            }
            slot.Holders++;
            return slot.Scope;
        }
    }

    /// <summary>One holder fewer; the scope goes with the last (it holds nothing then).</summary>
    internal void ReleasePeer(PeerId peer)
    {
        lock (_peersLock)
        {
            if (!_peers.TryGetValue(peer, out var slot))
            {
                global::System.Diagnostics.Debug.Fail("a peer scope released that was never acquired");
                return;
            }
            if (--slot.Holders == 0)
            {
                global::System.Diagnostics.Debug.Assert(slot.Scope.IsEmpty, "a peer scope dropped while it holds reservations");
                _peers.Remove(peer);
            }
        }
    }

    /// <summary>A protocol's scope. Protocol scopes stay: there are as few as the protocols served and opened.</summary>
    internal ResourceScope ProtocolScope(string protocol) =>
        _protocols.GetOrAdd(protocol, static (p, self) => new ResourceScope(ResourceScopeKind.Protocol, p,
            self._protocolLimits.GetValueOrDefault(p) ?? self.Options.ProtocolDefault, self._onBlocked), this);

    internal ResourceScope NewStreamScope() => new(ResourceScopeKind.Stream, "", Options.Stream, _onBlocked);

    internal void OnBlocked(ResourceLimitExceededException refused) => Blocked?.Invoke(refused);

    private sealed class PeerSlot(ResourceScope scope)
    {
        public ResourceScope Scope { get; } = scope;

        public int Holders; // under _peersLock
    }
}
