using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>Gets the session's metrics: messages/s, connections, latency, memory, pool and failures.</summary>
[Cmdlet(VerbsCommon.Get, "QuDagMetrics")]
[OutputType(typeof(QuDagMetrics))]
public sealed class GetQuDagMetricsCommand : QuDagCmdlet
{
    /// <inheritdoc/>
    protected override void EndProcessing() => WriteObject(new QuDagMetrics(Await(CurrentSession.Manager.GetMetricsAsync())));
}
