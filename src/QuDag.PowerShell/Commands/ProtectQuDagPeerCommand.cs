using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Protects peers from the connection manager's trims under a tag (go-libp2p's Protect): a protected peer's connection
/// is never trimmed, above the high watermark or at the hard cap, while any tag protects it. A peer not yet connected may
/// be protected; it is listed as a known peer until it is.
/// </summary>
[Cmdlet(VerbsSecurity.Protect, "QuDagPeer", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(QuDagPeer))]
public sealed class ProtectQuDagPeerCommand : PeerChangeCmdlet
{
    /// <summary>Why the peer is protected (bootstrap, validator, ...); each tag is removed on its own.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Tag { get; set; } = "";

    /// <inheritdoc/>
    protected override string Action => $"Protect from trims (tag '{Tag}')";

    /// <inheritdoc/>
    protected override void Change(PeerId peer) => CurrentSession.Manager.Protect(peer, Tag);
}
