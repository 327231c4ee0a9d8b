using QuDag.P2p.Resources;

namespace QuDag.PowerShell;

/// <summary>
/// One resource scope's use beside its limits, as Get-QuDagResourceUsage and Set-QuDagResourceLimit -PassThru write
/// it. A limit of null means none; counts and limits are plain numbers, so CSV and JSON keep them.
/// </summary>
public sealed class QuDagResourceUsage
{
    internal QuDagResourceUsage(ResourceUsage u)
    {
        Scope = u.Scope.ToString();
        Name = u.Name;
        ConnectionsInbound = u.ConnectionsInbound;
        ConnectionsInboundLimit = Limit(u.ConnectionsInboundLimit);
        ConnectionsOutbound = u.ConnectionsOutbound;
        ConnectionsOutboundLimit = Limit(u.ConnectionsOutboundLimit);
        ConnectionsLimit = Limit(u.ConnectionsLimit);
        StreamsInbound = u.StreamsInbound;
        StreamsInboundLimit = Limit(u.StreamsInboundLimit);
        StreamsOutbound = u.StreamsOutbound;
        StreamsOutboundLimit = Limit(u.StreamsOutboundLimit);
        StreamsLimit = Limit(u.StreamsLimit);
        MemoryBytes = u.MemoryBytes;
        MemoryBytesLimit = u.MemoryBytesLimit == long.MaxValue ? null : u.MemoryBytesLimit;
        Blocked = u.Blocked;
    }

    private static int? Limit(int value) => value == ResourceLimits.Unlimited ? null : value;

    /// <summary>System, Transient, Peer or Protocol.</summary>
    public string Scope { get; }

    /// <summary>The peer id (Peer) or protocol id (Protocol); empty for System and Transient.</summary>
    public string Name { get; }

#pragma warning disable CS1591 // each count sits beside its limit; about_QuDag explains the scopes
    public int ConnectionsInbound { get; }
    public int? ConnectionsInboundLimit { get; }
    public int ConnectionsOutbound { get; }
    public int? ConnectionsOutboundLimit { get; }
    public int? ConnectionsLimit { get; }
    public int StreamsInbound { get; }
    public int? StreamsInboundLimit { get; }
    public int StreamsOutbound { get; }
    public int? StreamsOutboundLimit { get; }
    public int? StreamsLimit { get; }
    public long MemoryBytes { get; }
    public long? MemoryBytesLimit { get; }
#pragma warning restore CS1591

    /// <summary>Reservations the scope refused (connections, streams, memory past its limits).</summary>
    public long Blocked { get; }

    /// <inheritdoc/>
    public override string ToString() => string.IsNullOrEmpty(Name) ? Scope : $"{Scope} {Name}";
}
