using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Starts a session afresh with the same settings and identity: every connection, listener, pooled connection,
/// known peer and queued message is dropped.
/// </summary>
[Cmdlet(VerbsCommon.Reset, "QuDagSession", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(QuDagSession))]
public sealed class ResetQuDagSessionCommand : QuDagCmdlet
{
    /// <summary>Writes the session after the reset.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var session = CurrentSession;
        if (!ShouldProcess($"session {session.Name} ({session.OpenConnections} open connections)", "Reset"))
            return;
        session.Restart(session.Config, null, null, keepAddressBook: false);
        if (PassThru)
            WriteObject(session);
    }
}
