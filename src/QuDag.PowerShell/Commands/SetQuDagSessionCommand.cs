using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Changes a session's settings. Limits, timeouts, keepalive, reconnect, breaker and watermark settings apply in place
/// to the running node (ConnectionManager.Reconfigure): connections, listeners and the address book stay. A new
/// identity, DHT or gossip setting needs a restart of the session's node (SessionConfig.NeedsRestart): it asks first
/// (-Force skips the question), then closes every connection and keeps the address book and the listeners' endpoints.
/// </summary>
[Cmdlet(VerbsCommon.Set, "QuDagSession", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(QuDagSession))]
public sealed class SetQuDagSessionCommand : SessionSettingsCmdlet
{
    private const string CommandId = "SetQuDagSession";

    /// <summary>The session to change, as an object or by its name; the runspace's default session when omitted.</summary>
    [Parameter]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(SessionNameCompleter))]
    public QuDagSession? Session { get; set; }

    /// <summary>Restart without asking when a change needs it; use an identity file group or others can read.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Writes the session after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var session = SessionRegistry.Resolve(this, Session, CommandId);
        var next = SessionSettings.Merge(this, session.Config, CommandId);
        if (IdentityPath is null && !session.Config.NeedsRestart(next))
        {
            if (ShouldProcess($"session {session.Name}", "Change settings in place"))
            {
                session.Apply(next);
                WriteVerbose($"Session {session.Name}: settings applied in place; {session.OpenConnections} open connection(s) kept.");
            }
        }
        else
        {
            var why = IdentityPath is not null ? "a new identity" : session.Config.GossipChanged(next) ? "a new gossip setting" : "a new DHT setting";
            var what = $"session {session.Name}: {why} restarts its node; {session.OpenConnections} open connection(s) close, the address book and listeners are kept";
            if (!ShouldProcess(what, "Restart"))
                return;
            // A bad identity file stops the command before the question, and before anything closes.
            NodeIdentity? identity = IdentityPath is null ? null : SessionSettings.LoadOrCreateIdentity(this, IdentityPath, Force, CommandId);
            if (!Force && !ShouldContinue(what + ". Continue?", "Restart the QuDag session"))
            {
                identity?.Dispose();
                return;
            }
            var identityPath = IdentityPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(IdentityPath);
            foreach (var endPoint in session.Restart(next, identity, identityPath, keepAddressBook: true))
                WriteWarning($"Session {session.Name}: could not listen on {endPoint} again after the restart.");
        }
        if (PassThru)
            WriteObject(session);
    }
}
