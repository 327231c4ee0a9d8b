using System.Management.Automation;
using QuDag.P2p.Resources;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Changes a resource scope's limits on the running node; they apply to the next reservation (what is held stays).
/// Only the limits given change. -1 removes a limit; 0 refuses everything. For Peer and Protocol, -PeerId or -Protocol
/// names one; without it the default of every peer or protocol not set by name changes. The system scope's connection
/// limit is the session's MaxConnections: -Scope System -Connections changes both.
/// </summary>
[Cmdlet(VerbsCommon.Set, "QuDagResourceLimit", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(QuDagResourceUsage))]
public sealed class SetQuDagResourceLimitCommand : QuDagCmdlet
{
    /// <summary>System (every connection, pending and established, and all streams), Transient (pending connections), Peer or Protocol.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateSet("System", "Transient", "Peer", "Protocol", IgnoreCase = true)]
    public string Scope { get; set; } = "";

    /// <summary>With -Scope Protocol: the protocol (such as /ipfs/ping/1.0.0); without it, every protocol's default.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Protocol { get; set; }

    /// <summary>With -Scope Peer: the peer (a full id, or a short id the session knows); without it, every peer's default.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string? PeerId { get; set; }

#pragma warning disable CS1591 // each is the limit of the same name; -1 removes it
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int ConnectionsInbound { get; set; }

    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int ConnectionsOutbound { get; set; }

    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Connections { get; set; }

    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int StreamsInbound { get; set; }

    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int StreamsOutbound { get; set; }

    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Streams { get; set; }

    [Parameter]
    [ValidateRange(-1, long.MaxValue)]
    public long MemoryBytes { get; set; }
#pragma warning restore CS1591

    /// <summary>Writes the scope's use and limits after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var kind = Enum.Parse<ResourceScopeKind>(Scope, ignoreCase: true);
        if (Protocol is not null && kind != ResourceScopeKind.Protocol)
            Refuse($"-Protocol goes with -Scope Protocol, not -Scope {kind}.", "Protocol");
        if (PeerId is not null && kind != ResourceScopeKind.Peer)
            Refuse($"-PeerId goes with -Scope Peer, not -Scope {kind}.", "PeerId");
        string? name = Protocol;
        if (kind == ResourceScopeKind.Peer && PeerId is not null)
        {
            if (ResolvePeer(PeerId) is not { } peer)
                return;
            name = peer.ToString();
        }
        var bound = MyInvocation.BoundParameters;
        var resources = CurrentSession.Manager.Resources;
        var current = resources.GetLimits(kind, name);
        int Count(string parameter, int value, int now) => bound.ContainsKey(parameter) ? (value < 0 ? ResourceLimits.Unlimited : value) : now;
        var next = current with
        {
            ConnectionsInbound = Count(nameof(ConnectionsInbound), ConnectionsInbound, current.ConnectionsInbound),
            ConnectionsOutbound = Count(nameof(ConnectionsOutbound), ConnectionsOutbound, current.ConnectionsOutbound),
            Connections = Count(nameof(Connections), Connections, current.Connections),
            StreamsInbound = Count(nameof(StreamsInbound), StreamsInbound, current.StreamsInbound),
            StreamsOutbound = Count(nameof(StreamsOutbound), StreamsOutbound, current.StreamsOutbound),
            Streams = Count(nameof(Streams), Streams, current.Streams),
            MemoryBytes = bound.ContainsKey(nameof(MemoryBytes)) ? (MemoryBytes < 0 ? long.MaxValue : MemoryBytes) : current.MemoryBytes,
        };
        var target = name is null && kind is ResourceScopeKind.Peer or ResourceScopeKind.Protocol ? $"every {kind.ToString().ToLowerInvariant()}'s default" : $"{kind} scope {name}".TrimEnd();
        if (!ShouldProcess(target, "Set resource limits"))
            return;
        if (kind == ResourceScopeKind.System && bound.ContainsKey(nameof(Connections)))
        {
            // The system scope's connection limit is MaxConnections: the connection limiter and the scope move together.
            if (Connections < 1)
                Refuse("The system scope's connection limit is the session's MaxConnections: at least 1.", "Connections");
            CurrentSession.Apply(CurrentSession.Config with { MaxConnections = Connections });
            next = next with { Connections = Connections };
        }
        resources.SetLimits(kind, next, name);
        if (PassThru)
            WriteObject(Describe(resources, kind, name));
    }

    /// <summary>The scope as it is now, or, for a peer or protocol with no scope yet (or a default), its limits at zero use.</summary>
    private static QuDagResourceUsage Describe(ResourceManager resources, ResourceScopeKind kind, string? name)
    {
        var live = kind switch
        {
            ResourceScopeKind.System => resources.System,
            ResourceScopeKind.Transient => resources.Transient,
            ResourceScopeKind.Peer when name is not null => resources.FindPeer(P2p.Identity.PeerId.Parse(name)),
            ResourceScopeKind.Protocol when name is not null => resources.FindProtocol(name),
            _ => null,
        };
        if (live is not null)
            return new QuDagResourceUsage(live.Usage());
        var l = resources.GetLimits(kind, name);
        return new QuDagResourceUsage(new ResourceUsage
        {
            Scope = kind,
            Name = name ?? "(default)",
            ConnectionsInboundLimit = l.ConnectionsInbound,
            ConnectionsOutboundLimit = l.ConnectionsOutbound,
            ConnectionsLimit = l.Connections,
            StreamsInboundLimit = l.StreamsInbound,
            StreamsOutboundLimit = l.StreamsOutbound,
            StreamsLimit = l.Streams,
            MemoryBytesLimit = l.MemoryBytes,
        });
    }

    private void Refuse(string message, string parameter) =>
        ThrowTerminatingError(new ErrorRecord(new ArgumentException(message), CommandId + "InvalidScope", ErrorCategory.InvalidArgument, parameter));
}
