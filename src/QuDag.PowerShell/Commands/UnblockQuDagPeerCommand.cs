using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Takes peers off the session's deny list (or, with -AllowOnly, off its allow list).</summary>
[Cmdlet(VerbsSecurity.Unblock, "QuDagPeer", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagGateRule))]
public sealed class UnblockQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to take off the list.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public PeerId[] PeerId { get; set; } = [];

    /// <summary>Which directions to lift. Default Both.</summary>
    [Parameter]
    public GateDirection Direction { get; set; } = GateDirection.Both;

    /// <summary>Take the peers off the allow list instead of the deny list.</summary>
    [Parameter]
    public SwitchParameter AllowOnly { get; set; }

    /// <summary>Writes the rule of each peer after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var gater = CurrentSession.Gater;
        foreach (var peer in PeerId)
        {
            if (!ShouldProcess($"peer {peer.Short}", AllowOnly ? $"Remove from the allow list, {Direction}" : $"Remove from the deny list, {Direction}"))
                continue;
            if (AllowOnly)
                gater.RemoveAllow(peer, Direction);
            else
                gater.RemoveDeny(peer, Direction);
            if (PassThru)
                WriteObject(QuDagGateRule.Of(gater, peer));
        }
    }
}
