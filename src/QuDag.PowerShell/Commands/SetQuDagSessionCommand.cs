using System.Management.Automation;
using System.Security;
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
public sealed class SetQuDagSessionCommand : QuDagCmdlet
{
    /// <summary>The new limit on open connections; lowering it below the open count closes idle pooled connections (oldest first) and refuses new ones until the count fits, and never cuts an active one.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int MaxConnections { get; set; }

    /// <summary>The new pool timeout, in seconds; connections already pooled expire at their pooling time plus the new timeout.</summary>
    [Parameter]
    [Alias("PoolTimeout")]
    [Seconds(1, SecondsAttribute.Month)]
    public int PoolTimeoutSeconds { get; set; }

    /// <summary>How long a connect may take, in seconds: one deadline for TCP, security and muxer together.</summary>
    [Parameter]
    [Alias("ConnectTimeout")]
    [Seconds(1, SecondsAttribute.Hour)]
    public int ConnectTimeoutSeconds { get; set; }

    /// <summary>A connection silent this many seconds gets a keepalive PING; 0 turns keepalive off.</summary>
    [Parameter]
    [Alias("KeepAlive", "KeepAliveInterval")]
    [Seconds(0, SecondsAttribute.Day)]
    public int KeepAliveSeconds { get; set; }

    /// <summary>A keepalive PING unanswered this many seconds fails the connection.</summary>
    [Parameter]
    [Alias("KeepAliveTimeout")]
    [Seconds(1, SecondsAttribute.Hour)]
    public int KeepAliveTimeoutSeconds { get; set; }

    /// <summary>Redial every peer whose connection is lost; -AutoReconnect:$false turns it off.</summary>
    [Parameter]
    public SwitchParameter AutoReconnect { get; set; }

    /// <summary>Consecutive failed dials that open a peer's circuit breaker; 0 turns it off.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int CircuitBreakerThreshold { get; set; }

    /// <summary>How long an open circuit makes connects to its peer fail fast, in seconds.</summary>
    [Parameter]
    [Alias("CircuitBreakerDuration")]
    [Seconds(1, SecondsAttribute.Day)]
    public int CircuitBreakerSeconds { get; set; }

    /// <summary>How long a request (Invoke-QuDagRequest) waits for its answer, and an inbound one for ours, in seconds.</summary>
    [Parameter]
    [Alias("RequestTimeout")]
    [Seconds(1, SecondsAttribute.Day)]
    public int RequestTimeoutSeconds { get; set; }

    /// <summary>A node key file (the libp2p protobuf private key rust-libp2p writes) to load, or to create when it does not exist (needs a restart).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IdentityPath { get; set; }

    /// <summary>Restart without asking when a change needs it; use an identity file group or others can read.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    // ---- the DHT (Kademlia) ----

    /// <summary>The DHT: Off, Client (lookups; not announced, not answering) or Server (also answers, announced by identify).</summary>
    [Parameter]
    [ValidateSet("Off", "Client", "Server", IgnoreCase = true)]
    public string? DhtMode { get; set; }

    /// <summary>The DHT's protocol id; /ipfs/kad/1.0.0 (QuDAG's) by default.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? DhtProtocol { get; set; }

    /// <summary>Peers to join the DHT through: multiaddrs ending in /p2p/&lt;peer id&gt;.</summary>
    [Parameter]
    [ValidateNotNull]
    public string[]? Bootstrap { get; set; }

    // ---- gossipsub ----

    /// <summary>The gossipsub heartbeat (mesh upkeep, gossip, score decay), in seconds. Default 10 (QuDAG's).</summary>
    [Parameter]
    [Alias("GossipHeartbeat")]
    [Seconds(1, SecondsAttribute.Hour)]
    public int GossipHeartbeatSeconds { get; set; }

    /// <summary>How gossip message ids are made: Rust (QuDAG's nodes, the default), Js or Go. A mesh must agree on it for IHAVE/IWANT.</summary>
    [Parameter]
    [ValidateSet("Rust", "Js", "Go", IgnoreCase = true)]
    public string? GossipMessageId { get; set; }

    /// <summary>Peers scoring below it get no gossip from us and their IHAVE/IWANT are ignored. Default -10; at most 0.</summary>
    [Parameter]
    public double GossipThreshold { get; set; }

    /// <summary>Peers scoring below it are not published to. Default -50; at most GossipThreshold.</summary>
    [Parameter]
    public double PublishThreshold { get; set; }

    /// <summary>Peers scoring below it are ignored altogether. Default -80; at most PublishThreshold.</summary>
    [Parameter]
    public double GraylistThreshold { get; set; }

    /// <summary>Peer exchange (peers offered in a PRUNE) is taken only from peers scoring at least this. Default 10.</summary>
    [Parameter]
    [Alias("AcceptPeerExchangeThreshold")]
    [ValidateRange(0, double.MaxValue)]
    public double AcceptPXThreshold { get; set; }

    /// <summary>Opportunistic grafting runs when the mesh's median score is below this. Default 20.</summary>
    [Parameter]
    [ValidateRange(0, double.MaxValue)]
    public double OpportunisticGraftThreshold { get; set; }

    /// <summary>Offer other peers of a topic, with their signed peer records, in the PRUNEs this node sends (peer exchange), as a bootstrapper does. Off by default, as in rust and js.</summary>
    [Parameter]
    public SwitchParameter GossipPeerExchange { get; set; }

    /// <summary>Peers (ids) whose peer exchange is believed, such as the bootstrappers you join a topic through: they score AcceptPXThreshold.</summary>
    [Parameter]
    [ValidateNotNull]
    public string[]? TrustedGossipPeer { get; set; }
    // ---- connection policy (watermarks, grace) ----

    /// <summary>The connection count trims bring the node down to (go-libp2p's low watermark); 0 turns trims off.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int LowWater { get; set; }

    /// <summary>Above this many open connections the node trims the lowest-value ones to -LowWater; 0 turns trims off.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int HighWater { get; set; }

    /// <summary>A connection younger than this is never trimmed, in seconds (60 by default).</summary>
    [Parameter]
    [Alias("GracePeriod")]
    [Seconds(0, SecondsAttribute.Day)]
    public int GracePeriodSeconds { get; set; }

    /// <summary>Writes the session after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var session = CurrentSession;
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
