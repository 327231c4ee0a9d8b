using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Records a peer's status and notifies subscribers (the seed's update_status); the socket is untouched.</summary>
[Cmdlet(VerbsCommon.Set, "QuDagPeerStatus", SupportsShouldProcess = true)]
[OutputType(typeof(PeerInfo))]
public sealed class SetQuDagPeerStatusCommand : QuDagCmdlet
{
    /// <summary>The peers whose status to set.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public PeerId[] PeerId { get; set; } = [];

    /// <summary>The status to record.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public ConnectionStatus Status { get; set; }

    /// <summary>Why (kept as the peer's last error when the status is Failed).</summary>
    [Parameter]
    public string? Reason { get; set; }

    /// <summary>Writes each peer after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        foreach (var peer in PeerId)
        {
            if (!ShouldProcess($"peer {peer.Short}", $"Set status to {Status}"))
                continue;
            Await(manager.UpdateStatusAsync(peer, Status, Reason));
            if (PassThru)
                WriteObject(manager.GetPeer(peer));
        }
    }
}
