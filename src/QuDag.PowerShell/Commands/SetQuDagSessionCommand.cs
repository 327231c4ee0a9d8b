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

    /// <summary>A connection silent this long gets a keepalive PING; zero turns keepalive off. </summary>
    [Parameter]
    public TimeSpan KeepAliveInterval { get; set; }

    /// <summary>A keepalive PING unanswered this long fails the connection.</summary>
    [Parameter]
    public TimeSpan KeepAliveTimeout { get; set; }

    /// <summary>Redial every peer whose connection is lost; -AutoReconnect:$false turns it off.</summary>
    [Parameter]
    public SwitchParameter AutoReconnect { get; set; }

    /// <summary>Consecutive failed dials that open a peer's circuit breaker; 0 turns it off.</summary>
    [Parameter]
    public int CircuitBreakerThreshold { get; set; }

    /// <summary>How long an open circuit makes connects to its peer fail fast.</summary>
    [Parameter]
    public TimeSpan CircuitBreakerDuration { get; set; }

    /// <summary>Writes the session after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var session = CurrentSession;
        SessionSettings.CheckPoolTimeout(this, PoolTimeout, CommandId);
        var resilience = SessionSettings.Resilience(this, session.Resilience, CommandId);
        if (!ShouldProcess($"session {session.Name} ({session.OpenConnections} open connections will close)", "Reconfigure"))
            return;
        NodeIdentity? identity = IdentityPath is null
            ? null
            : SessionSettings.LoadOrCreateIdentity(this, IdentityPath, SessionSettings.Plain(IdentityPassword), CommandId);
        session.Reconfigure(MaxConnections ?? session.MaxConnections, PoolTimeout ?? session.PoolTimeout, identity, IdentityPath, resilience);
        if (PassThru)
            WriteObject(session);
    }
}
