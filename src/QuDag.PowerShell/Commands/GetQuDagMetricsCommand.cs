using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Gets the session's metrics: messages/s, connections, latency, memory, pool and failures.</summary>
[Cmdlet(VerbsCommon.Get, "QuDagMetrics")]
[OutputType(typeof(NetworkMetrics))]
public sealed class GetQuDagMetricsCommand : QuDagCmdlet
{
    /// <inheritdoc/>
    protected override void EndProcessing() => WriteObject(Await(CurrentSession.Manager.GetMetricsAsync()));
}
