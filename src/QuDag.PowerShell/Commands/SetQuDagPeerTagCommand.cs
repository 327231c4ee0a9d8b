using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Sets a tag's weight on peers (go-libp2p's TagPeer). A peer's value is the sum of its tags' weights; the connection
/// manager trims the lowest values first. With -DecaySeconds the weight falls linearly to zero over that time, then the
/// tag is gone (recent usefulness that fades).
/// </summary>
[Cmdlet(VerbsCommon.Set, "QuDagPeerTag", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(QuDagPeer))]
public sealed class SetQuDagPeerTagCommand : PeerChangeCmdlet
{
    /// <summary>The tag's name; setting it again replaces its weight.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Tag { get; set; } = "";

    /// <summary>The tag's weight (negative lowers the peer's value).</summary>
    [Parameter(Mandatory = true, Position = 2)]
    public int Value { get; set; }

    /// <summary>The weight falls linearly to zero over this many seconds, then the tag goes; 0 (the default) never decays.</summary>
    [Parameter]
    [Alias("Decay")]
    [Seconds(0, SecondsAttribute.Month)]
    public int DecaySeconds { get; set; }

    /// <inheritdoc/>
    protected override string Action =>
        DecaySeconds > 0 ? $"Tag '{Tag}' = {Value}, decaying over {DecaySeconds} s" : $"Tag '{Tag}' = {Value}";

    /// <inheritdoc/>
    protected override void Change(PeerId peer) =>
        CurrentSession.Manager.TagPeer(peer, Tag, Value, DecaySeconds > 0 ? TimeSpan.FromSeconds(DecaySeconds) : null);
}
