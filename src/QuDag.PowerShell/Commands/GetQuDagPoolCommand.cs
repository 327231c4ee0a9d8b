using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>Lists the idle pooled connections, longest idle first. Listing does not extend their expiry.</summary>
[Cmdlet(VerbsCommon.Get, "QuDagPool")]
[OutputType(typeof(QuDagPooledConnection))]
public sealed class GetQuDagPoolCommand : QuDagCmdlet
{
    /// <inheritdoc/>
    protected override void EndProcessing() =>
        WriteObject(CurrentSession.Manager.GetPooledConnections().Select(c => new QuDagPooledConnection(c)), enumerateCollection: true);
}
