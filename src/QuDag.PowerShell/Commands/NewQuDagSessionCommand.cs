using System.Management.Automation;
using System.Management.Automation.Runspaces;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Creates a separate QuDAG node with its own identity and connection manager: an embedded peer for tests,
/// or a session to share with thread jobs through -Session.
/// </summary>
[Cmdlet(VerbsCommon.New, "QuDagSession", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagSession))]
public sealed class NewQuDagSessionCommand : SessionSettingsCmdlet
{
    /// <summary>A name, unique among the runspace's open sessions.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Use an identity file even when group or others can read it.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        const string commandId = "NewQuDagSession";
        var config = SessionSettings.Merge(this, new SessionConfig(), commandId);
        if (Name is not null && SessionRegistry.IsNameTaken(Runspace.DefaultRunspace, Name))
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException($"A session named '{Name}' is open in this runspace; names are unique (Get-QuDagSession -Name {Name})."),
                commandId + "NameInUse", ErrorCategory.ResourceExists, Name));
        }
        if (!ShouldProcess(Name ?? "new session", "Create a QuDag session"))
            return;
        var identity = IdentityPath is null
            ? NodeIdentity.Create()
            : SessionSettings.LoadOrCreateIdentity(this, IdentityPath, Force, commandId);
        var session = SessionRegistry.Create(Runspace.DefaultRunspace, Name, config, identity, IdentityPath);
        if (session is null)
        {
            identity.Dispose();
            ThrowTerminatingError(new ErrorRecord(new ArgumentException($"A session named '{Name}' is open in this runspace."),
                commandId + "NameInUse", ErrorCategory.ResourceExists, Name));
        }
        WriteObject(session);
    }
}
