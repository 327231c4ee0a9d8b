using System.Management.Automation;
using QuDag.P2p.Resources;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Shows the resource scopes every connection and stream reserves in: one object per scope (System, Transient, each
/// peer with a connection, each protocol used), each count beside its limit, and the reservations the scope refused.
/// </summary>
[Cmdlet(VerbsCommon.Get, "QuDagResourceUsage")]
[OutputType(typeof(QuDagResourceUsage))]
public sealed class GetQuDagResourceUsageCommand : QuDagCmdlet
{
    /// <summary>Only this kind of scope: System, Transient, Peer or Protocol.</summary>
    [Parameter(Position = 0)]
    [ValidateSet("System", "Transient", "Peer", "Protocol", IgnoreCase = true)]
    public string? Scope { get; set; }

    /// <summary>Only scopes whose name (peer id or protocol id) matches; wildcards allowed.</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        ResourceScopeKind? kind = Scope is null ? null : Enum.Parse<ResourceScopeKind>(Scope, ignoreCase: true);
        var pattern = Name is null ? null : new WildcardPattern(Name, WildcardOptions.IgnoreCase);
        foreach (var usage in CurrentSession.Manager.Resources.GetUsage(kind))
        {
            if (pattern is null || pattern.IsMatch(usage.Name))
                WriteObject(new QuDagResourceUsage(usage));
        }
    }
}
