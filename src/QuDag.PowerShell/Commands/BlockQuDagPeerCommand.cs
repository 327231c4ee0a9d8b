using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Puts peers on the session's deny list (or, with -AllowOnly, on its allow list). A denied peer's live and pooled
/// connections in that direction close; inbound it is refused in the TLS handshake, outbound before any socket opens.
/// </summary>
[Cmdlet(VerbsSecurity.Block, "QuDagPeer", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(QuDagGateRule))]
public sealed class BlockQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to deny (or to allow, with -AllowOnly).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public PeerId[] PeerId { get; set; } = [];

    /// <summary>Which connections the rule covers. Default Both.</summary>
    [Parameter]
    public GateDirection Direction { get; set; } = GateDirection.Both;

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
        foreach (var peer in PeerId)
        {
            var action = AllowOnly ? $"Allow only listed peers, {Direction}" : $"Deny, {Direction}";
            if (!ShouldProcess($"peer {peer.Short}", action))
                continue;
            if (AllowOnly)
                gater.Allow(peer, Direction);
            else
                gater.Deny(peer, Direction);
            if (PassThru)
                WriteObject(QuDagGateRule.Of(gater, peer));
        }
    }
}
