using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Removes one protection tag from peers (go-libp2p's Unprotect). A peer stays protected while another tag protects it;
/// -Verbose says which.
/// </summary>
[Cmdlet(VerbsSecurity.Unprotect, "QuDagPeer", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(QuDagPeer))]
public sealed class UnprotectQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers: full ids, or short ids the session knows.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>The protection tag to remove.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Tag { get; set; } = "";

    /// <summary>Writes each peer after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        foreach (var text in PeerId)
        {
            if (ResolvePeer(text) is not { } peer || !ShouldProcess($"peer {peer.ToShortString()}", $"Remove the protection tag '{Tag}'"))
                continue;
            bool still = manager.Unprotect(peer, Tag);
            WriteVerbose(still
                ? $"Peer {peer.ToShortString()} is still protected by: {string.Join(", ", manager.GetPeer(peer)?.ProtectionTags ?? [])}."
                : $"Peer {peer.ToShortString()} is no longer protected.");
            if (PassThru && DescribePeer(peer) is { } shown)
                WriteObject(shown);
        }
    }
}
