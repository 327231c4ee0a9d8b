using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>Stops listeners (all of the session's when none is named); established connections stay.</summary>
[Cmdlet(VerbsLifecycle.Stop, "QuDagListener", SupportsShouldProcess = true, DefaultParameterSetName = "All")]
[OutputType(typeof(QuDagListener))]
public sealed class StopQuDagListenerCommand : QuDagCmdlet
{
    /// <summary>Listeners from Start-QuDagListener.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = "Listener")]
    public QuDagListener[] Listener { get; set; } = [];

    /// <summary>The port of the listener to stop.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Port")]
    [ValidateRange(1, 65535)]
    [ArgumentCompleter(typeof(ListenerPortCompleter))]
    public int Port { get; set; }

    /// <summary>Writes each stopped listener.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var session = CurrentSession;
        var listeners = session.Manager.Listeners;
        var targets = ParameterSetName switch
        {
            "Listener" => Listener.Select(l => l.Listener).ToArray(),
            "Port" => listeners.Where(l => l.LocalEndPoint.Port == Port).ToArray(),
            _ => listeners.ToArray(),
        };
        if (ParameterSetName == "Port" && targets.Length == 0)
        {
            WriteError(new ErrorRecord(new ItemNotFoundException($"No listener of this session is on port {Port}."),
                CommandId + "NotFound", ErrorCategory.ObjectNotFound, Port));
            return;
        }
        foreach (var listener in targets)
        {
            if (!ShouldProcess(listener.LocalEndPoint.ToString(), "Stop listening"))
                continue;
            Await(listener.DisposeAsync().AsTask());
            if (PassThru)
                WriteObject(new QuDagListener(session, listener));
        }
    }
}
