using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Records a peer's status and notifies subscribers (the seed's update_status); the socket is untouched.</summary>
[Cmdlet(VerbsCommon.Set, "QuDagPeerStatus", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagPeer))]
public sealed class SetQuDagPeerStatusCommand : QuDagCmdlet
{
    /// <summary>The peers whose status to set: full ids (a new one joins the address book), or short ids the session knows.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>The status to record.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateSet("Connected", "Connecting", "Disconnected", "Failed", IgnoreCase = true)]
    public string Status { get; set; } = "";

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
        var status = Enum.Parse<ConnectionStatus>(Status, ignoreCase: true);
        foreach (var text in PeerId)
        {
            if (ResolvePeer(text) is not { } peer)
                continue;
            if (!ShouldProcess($"peer {peer.ToShortString()}", $"Set status to {status}"))
                continue;
            Await(manager.UpdateStatusAsync(peer, status, Reason));
            if (PassThru)
                WriteObject(DescribePeer(peer));
        }
    }
}
