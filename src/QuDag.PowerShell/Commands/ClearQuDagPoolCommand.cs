using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>Closes every idle pooled connection.</summary>
[Cmdlet(VerbsCommon.Clear, "QuDagPool", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(int))]
public sealed class ClearQuDagPoolCommand : QuDagCmdlet
{
    /// <summary>Writes how many connections were closed.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var manager = CurrentSession.Manager;
        var idle = manager.GetPooledConnections().Count;
        if (!ShouldProcess($"{idle} idle connection(s) of session {CurrentSession.Name}", "Close"))
            return;
        var closed = Await(manager.ClearPoolAsync());
        if (PassThru)
            WriteObject(closed);
    }
}
