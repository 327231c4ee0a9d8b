using System.Management.Automation;
using QuDag.Telemetry;

namespace QuDag.PowerShell.Commands;

/// <summary>Stops exporting the session's metrics: the scrape port closes and OTLP pushes a last export.</summary>
[Cmdlet(VerbsLifecycle.Stop, "QuDagMetricsExporter", SupportsShouldProcess = true)]
[OutputType(typeof(MetricsExporter))]
public sealed class StopQuDagMetricsExporterCommand : QuDagCmdlet
{
    /// <summary>Writes the stopped exporter.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var session = CurrentSession;
        if (session.MetricsExporter is not { } running)
        {
            WriteVerbose($"Session {session.Name} exports nothing.");
            return;
        }
        if (!ShouldProcess($"session {session.Name}: {running}", "Stop exporting metrics"))
            return;
        if (session.StopExporter() is { } stopped && PassThru)
            WriteObject(stopped);
    }
}
