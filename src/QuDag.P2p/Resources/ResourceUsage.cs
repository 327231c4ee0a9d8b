namespace QuDag.P2p.Resources;

/// <summary>
/// One scope's counts beside its limits, and how many reservations it refused: what
/// <c>Get-QuDagResourceUsage</c> shows. Counts only; a snapshot taken under the scope's lock.
/// </summary>
public sealed record ResourceUsage
{
    public required ResourceScopeKind Scope { get; init; }

    /// <summary>The peer id or protocol id; empty for the system and transient scopes.</summary>
    public required string Name { get; init; }

    public int ConnectionsInbound { get; init; }

    public int ConnectionsInboundLimit { get; init; }

    public int ConnectionsOutbound { get; init; }

    public int ConnectionsOutboundLimit { get; init; }

    public int ConnectionsLimit { get; init; }

    public int StreamsInbound { get; init; }

    public int StreamsInboundLimit { get; init; }

    public int StreamsOutbound { get; init; }

    public int StreamsOutboundLimit { get; init; }

    public int StreamsLimit { get; init; }

    public long MemoryBytes { get; init; }

    public long MemoryBytesLimit { get; init; }

    /// <summary>Reservations this scope refused since it was made.</summary>
    public long Blocked { get; init; }

    /// <summary>True when the scope holds nothing.</summary>
    public bool IsEmpty => ConnectionsInbound == 0 && ConnectionsOutbound == 0 && StreamsInbound == 0 && StreamsOutbound == 0 && MemoryBytes == 0;
}
