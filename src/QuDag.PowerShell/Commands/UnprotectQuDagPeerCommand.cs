using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Removes one protection tag from peers (go-libp2p's Unprotect). A peer stays protected while another tag protects it;
/// -Verbose says which.
/// </summary>
[Cmdlet(VerbsSecurity.Unprotect, "QuDagPeer", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(QuDagPeer))]
public sealed class UnprotectQuDagPeerCommand : PeerChangeCmdlet
{
    /// <summary>The protection tag to remove.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Tag { get; set; } = "";

    /// <inheritdoc/>
    protected override string Action => $"Remove the protection tag '{Tag}'";

    /// <inheritdoc/>
    protected override void Change(PeerId peer)
    {
        var manager = CurrentSession.Manager;
        WriteVerbose(manager.Unprotect(peer, Tag)
            ? $"Peer {peer.ToShortString()} is still protected by: {string.Join(", ", manager.GetPeer(peer)?.ProtectionTags ?? [])}."
            : $"Peer {peer.ToShortString()} is no longer protected.");
    }
}
