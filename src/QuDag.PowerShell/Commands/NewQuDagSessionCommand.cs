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

    /// <summary>A connection silent this long gets a keepalive PING; zero turns keepalive off. Default 15 s.</summary>
    [Parameter]
    public TimeSpan KeepAliveInterval { get; set; }

    /// <summary>A keepalive PING unanswered this long fails the connection. Default 20 s.</summary>
    [Parameter]
    public TimeSpan KeepAliveTimeout { get; set; }

    /// <summary>Redial every peer whose connection is lost, with exponential backoff (5 s to 5 minutes) and jitter.</summary>
    [Parameter]
    public SwitchParameter AutoReconnect { get; set; }

    /// <summary>Consecutive failed dials that open a peer's circuit breaker; 0 turns it off. Default 5.</summary>
    [Parameter]
    public int CircuitBreakerThreshold { get; set; }

    /// <summary>How long an open circuit makes connects to its peer fail fast. Default 60 s.</summary>
    [Parameter]
    public TimeSpan CircuitBreakerDuration { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        SessionSettings.CheckPoolTimeout(this, PoolTimeout, "NewQuDagSession");
        var resilience = SessionSettings.Resilience(this, new ResilienceSettings(), "NewQuDagSession");
        if (!ShouldProcess(Name ?? "new session", "Create a QuDag session"))
            return;
        var identity = IdentityPath is null
            ? NodeIdentity.Create()
            : SessionSettings.LoadOrCreateIdentity(this, IdentityPath, SessionSettings.Plain(IdentityPassword), "NewQuDagSession");
        WriteObject(SessionRegistry.Create(Runspace.DefaultRunspace, Name, MaxConnections, PoolTimeout, identity, IdentityPath, resilience));
    }
}
