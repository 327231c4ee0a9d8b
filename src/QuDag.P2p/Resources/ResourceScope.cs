using System.Diagnostics;

namespace QuDag.P2p.Resources;

/// <summary>
/// One scope's counts against its limits. Only the <see cref="ConnectionScope"/> and <see cref="StreamScope"/> that
/// hold a reservation change them (through <see cref="ResourceManager"/>); everyone else reads. Each change is one
/// short lock on this scope alone, never two scopes' locks at once, so no order between scopes can deadlock.
/// </summary>
public sealed class ResourceScope
{
    private readonly Lock _lock = new();
    private readonly Action<ResourceLimitExceededException>? _onBlocked;
    private ResourceLimits _limits;
    private int _connectionsIn, _connectionsOut, _streamsIn, _streamsOut;
    private long _memory;
    private long _blocked;

    internal ResourceScope(ResourceScopeKind kind, string name, ResourceLimits limits, Action<ResourceLimitExceededException>? onBlocked)
    {
        Kind = kind;
        Name = name;
        _limits = limits;
        _onBlocked = onBlocked;
    }

    public ResourceScopeKind Kind { get; }

    /// <summary>The peer id or protocol id; empty for the system and transient scopes.</summary>
    public string Name { get; }

    /// <summary>The limits now; a change applies to the next reservation (what is held stays).</summary>
    public ResourceLimits Limits
    {
        get => Volatile.Read(ref _limits);
        internal set => Volatile.Write(ref _limits, value);
    }

    /// <summary>Connections held now, both ways (the system scope's is what MaxConnections limits).</summary>
    public int Connections
    {
        get
        {
            lock (_lock)
                return _connectionsIn + _connectionsOut;
        }
    }

    /// <summary>Reservations refused so far.</summary>
    public long Blocked => Interlocked.Read(ref _blocked);

    /// <summary>The counts and limits now.</summary>
    public ResourceUsage Usage()
    {
        var l = Limits;
        lock (_lock)
        {
            return new ResourceUsage
            {
                Scope = Kind,
                Name = Name,
                ConnectionsInbound = _connectionsIn,
                ConnectionsInboundLimit = l.ConnectionsInbound,
                ConnectionsOutbound = _connectionsOut,
                ConnectionsOutboundLimit = l.ConnectionsOutbound,
                ConnectionsLimit = l.Connections,
                StreamsInbound = _streamsIn,
                StreamsInboundLimit = l.StreamsInbound,
                StreamsOutbound = _streamsOut,
                StreamsOutboundLimit = l.StreamsOutbound,
                StreamsLimit = l.Streams,
                MemoryBytes = _memory,
                MemoryBytesLimit = l.MemoryBytes,
                Blocked = Blocked,
            };
        }
    }

    /// <summary>True when the scope holds nothing.</summary>
    internal bool IsEmpty
    {
        get
        {
            lock (_lock)
                return _connectionsIn == 0 && _connectionsOut == 0 && _streamsIn == 0 && _streamsOut == 0 && _memory == 0;
        }
    }

    /// <summary>
    /// Adds <paramref name="delta"/> if every limit it touches stays within bounds; otherwise adds nothing, counts the
    /// refusal and returns it. <paramref name="force"/> counts without checking (an allowlisted connection).
    /// </summary>
    internal ResourceLimitExceededException? TryReserve(ResourceDelta delta, bool force = false, bool countBlocked = true)
    {
        var l = Limits;
        ResourceLimitExceededException? refused = null;
        lock (_lock)
        {
            if (!force && Breach(l, delta) is { } breach)
            {
                refused = new ResourceLimitExceededException(Kind, Name, breach.Resource, breach.InUse, breach.Limit);
            }
            else
            {
                _connectionsIn += delta.ConnectionsInbound;
                _connectionsOut += delta.ConnectionsOutbound;
                _streamsIn += delta.StreamsInbound;
                _streamsOut += delta.StreamsOutbound;
                _memory += delta.Memory;
                return null;
            }
        }
        if (countBlocked)
            CountBlocked(refused);
        return refused;
    }

    /// <summary>Counts a refusal made on this scope's behalf (a check outside <see cref="TryReserve"/>).</summary>
    internal void CountBlocked(ResourceLimitExceededException refused)
    {
        Interlocked.Increment(ref _blocked);
        _onBlocked?.Invoke(refused);
    }

    /// <summary>The first limit the counts pass now, if any (an allowlisted connection that lost its exemption).</summary>
    internal ResourceLimitExceededException? CheckWithinLimits()
    {
        var l = Limits;
        lock (_lock)
        {
            // Already counted: with no delta, a breach is a count over its limit.
            if (Breach(l, default) is not { } breach)
                return null;
            return new ResourceLimitExceededException(Kind, Name, breach.Resource, breach.InUse, breach.Limit);
        }
    }

    internal void Release(ResourceDelta delta)
    {
        lock (_lock)
        {
            _connectionsIn -= delta.ConnectionsInbound;
            _connectionsOut -= delta.ConnectionsOutbound;
            _streamsIn -= delta.StreamsInbound;
            _streamsOut -= delta.StreamsOutbound;
            _memory -= delta.Memory;
            Debug.Assert(_connectionsIn >= 0, $"{Kind} {Name}: inbound connections below zero");
            Debug.Assert(_connectionsOut >= 0, $"{Kind} {Name}: outbound connections below zero");
            Debug.Assert(_streamsIn >= 0, $"{Kind} {Name}: inbound streams below zero");
            Debug.Assert(_streamsOut >= 0, $"{Kind} {Name}: outbound streams below zero");
            Debug.Assert(_memory >= 0, $"{Kind} {Name}: memory below zero");
        }
    }

    // Under _lock. With an empty delta it reports a count already over its limit (see CheckWithinLimits).
    private (string Resource, long InUse, long Limit)? Breach(ResourceLimits l, ResourceDelta d)
    {
        bool empty = d == default;
        if ((empty || d.ConnectionsInbound > 0) && _connectionsIn + d.ConnectionsInbound > l.ConnectionsInbound)
            return ("inbound connections", _connectionsIn, l.ConnectionsInbound);
        if ((empty || d.ConnectionsOutbound > 0) && _connectionsOut + d.ConnectionsOutbound > l.ConnectionsOutbound)
            return ("outbound connections", _connectionsOut, l.ConnectionsOutbound);
        int connections = d.ConnectionsInbound + d.ConnectionsOutbound;
        if ((empty || connections > 0) && (long)_connectionsIn + _connectionsOut + connections > l.Connections)
            return ("connections", _connectionsIn + _connectionsOut, l.Connections);
        if ((empty || d.StreamsInbound > 0) && _streamsIn + d.StreamsInbound > l.StreamsInbound)
            return ("inbound streams", _streamsIn, l.StreamsInbound);
        if ((empty || d.StreamsOutbound > 0) && _streamsOut + d.StreamsOutbound > l.StreamsOutbound)
            return ("outbound streams", _streamsOut, l.StreamsOutbound);
        int streams = d.StreamsInbound + d.StreamsOutbound;
        if ((empty || streams > 0) && (long)_streamsIn + _streamsOut + streams > l.Streams)
            return ("streams", _streamsIn + _streamsOut, l.Streams);
        if ((empty || d.Memory > 0) && _memory > l.MemoryBytes - d.Memory)
            return ("bytes of memory", _memory, l.MemoryBytes);
        return null;
    }

    public override string ToString() => ResourceLimitExceededException.ScopeTextOf(Kind, Name);
}
