using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Protects peers from the connection manager's trims under a tag (go-libp2p's Protect): a protected peer's connection
/// is never trimmed, above the high watermark or at the hard cap, while any tag protects it. A peer not yet connected may
/// be protected; it is listed as a known peer until it is.
/// </summary>
[Cmdlet(VerbsSecurity.Protect, "QuDagPeer", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(QuDagPeer))]
public sealed class ProtectQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to protect: full ids, or short ids the session knows.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>Why the peer is protected (bootstrap, validator, ...); each tag is removed on its own.</summary>
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
            if (ResolvePeer(text) is not { } peer || !ShouldProcess($"peer {peer.ToShortString()}", $"Protect from trims (tag '{Tag}')"))
                continue;
            manager.Protect(peer, Tag);
            if (PassThru && DescribePeer(peer) is { } shown)
                WriteObject(shown);
        }
    }
}
