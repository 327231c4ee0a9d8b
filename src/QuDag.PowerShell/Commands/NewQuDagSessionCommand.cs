using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Security;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Creates a separate QuDAG node with its own identity and connection manager: an embedded peer for tests,
/// or a session to share with thread jobs through -Session.
/// </summary>
[Cmdlet(VerbsCommon.New, "QuDagSession", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagSession))]
public sealed class NewQuDagSessionCommand : PSCmdlet
{
    /// <summary>A display name.</summary>
    [Parameter(Position = 0)]
    public string? Name { get; set; }

    /// <summary>The limit on open connections. Default 100.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int MaxConnections { get; set; } = SessionRegistry.DefaultMaxConnections;

    /// <summary>How long idle connections wait in the pool. Default 5 minutes.</summary>
    [Parameter]
    public TimeSpan PoolTimeout { get; set; } = SessionRegistry.DefaultPoolTimeout;

    /// <summary>An identity file (PKCS#12) to load, or to create when it does not exist.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IdentityPath { get; set; }

    /// <summary>The identity file's password.</summary>
    [Parameter]
    public SecureString? IdentityPassword { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        SessionSettings.CheckPoolTimeout(this, PoolTimeout, "NewQuDagSession");
        if (!ShouldProcess(Name ?? "new session", "Create a QuDag session"))
            return;
        var identity = IdentityPath is null
            ? NodeIdentity.Create()
            : SessionSettings.LoadOrCreateIdentity(this, IdentityPath, SessionSettings.Plain(IdentityPassword), "NewQuDagSession");
        WriteObject(SessionRegistry.Create(Runspace.DefaultRunspace, Name, MaxConnections, PoolTimeout, identity, IdentityPath));
    }
}
