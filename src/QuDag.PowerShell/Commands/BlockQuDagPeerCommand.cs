using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Puts peers on the session's deny list (or, with -AllowOnly, on its allow list). A denied peer's live and pooled
/// connections in that direction close; inbound it is refused right after the security handshake (Noise or TLS) proves
/// its id, outbound before any socket opens.
/// </summary>
[Cmdlet(VerbsSecurity.Block, "QuDagPeer", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(QuDagGateRule))]
public sealed class BlockQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to deny (or to allow, with -AllowOnly): full ids, or short ids the session knows.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>Which connections the rule covers: Inbound, Outbound or Both (the default).</summary>
    [Parameter]
    [ValidateSet("Inbound", "Outbound", "Both", IgnoreCase = true)]
    public string Direction { get; set; } = "Both";

    /// <summary>Allow these peers instead, and from then on only peers on the allow list in that direction.</summary>
    [Parameter]
    public SwitchParameter AllowOnly { get; set; }

    /// <summary>Writes the rule of each peer.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var gater = CurrentSession.Gater;
        var direction = Enum.Parse<GateDirection>(Direction, ignoreCase: true);
        foreach (var text in PeerId)
        {
            if (ResolvePeer(text) is not { } peer)
                continue;
            var action = AllowOnly ? $"Allow only listed peers, {direction}" : $"Deny, {direction}";
            if (!ShouldProcess($"peer {peer.ToShortString()}", action))
                continue;
            if (AllowOnly)
                gater.Allow(peer, direction);
            else
                gater.Deny(peer, direction);
            if (PassThru)
                WriteObject(new QuDagGateRule(gater, peer));
        }
    }
}
