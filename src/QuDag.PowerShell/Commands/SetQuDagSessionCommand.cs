using System.Management.Automation;
using System.Security;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Changes a session's limit, pool timeout or identity. The connection manager is rebuilt, so every
/// connection and listener of the session is closed.
/// </summary>
[Cmdlet(VerbsCommon.Set, "QuDagSession", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(QuDagSession))]
public sealed class SetQuDagSessionCommand : QuDagCmdlet
{
    /// <summary>The new limit on open connections.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? MaxConnections { get; set; }

    /// <summary>The new pool timeout.</summary>
    [Parameter]
    public TimeSpan? PoolTimeout { get; set; }

    /// <summary>An identity file (PKCS#12) to load, or to create when it does not exist.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IdentityPath { get; set; }

    /// <summary>The identity file's password.</summary>
    [Parameter]
    public SecureString? IdentityPassword { get; set; }

    /// <summary>Writes the session after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var session = CurrentSession;
        SessionSettings.CheckPoolTimeout(this, PoolTimeout, CommandId);
        if (!ShouldProcess($"session {session.Name} ({session.OpenConnections} open connections will close)", "Reconfigure"))
            return;
        NodeIdentity? identity = IdentityPath is null
            ? null
            : SessionSettings.LoadOrCreateIdentity(this, IdentityPath, SessionSettings.Plain(IdentityPassword), CommandId);
        session.Reconfigure(MaxConnections ?? session.MaxConnections, PoolTimeout ?? session.PoolTimeout, identity, IdentityPath);
        if (PassThru)
            WriteObject(session);
    }
}
