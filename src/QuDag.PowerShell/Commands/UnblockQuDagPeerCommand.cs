using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Takes peers off the session's deny list (or, with -AllowOnly, off its allow list).</summary>
[Cmdlet(VerbsSecurity.Unblock, "QuDagPeer", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagGateRule))]
public sealed class UnblockQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to take off the list: full ids, or short ids the session knows.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>Which directions to lift: Inbound, Outbound or Both (the default).</summary>
    [Parameter]
    [ValidateSet("Inbound", "Outbound", "Both", IgnoreCase = true)]
    public string Direction { get; set; } = "Both";

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
        var direction = Enum.Parse<GateDirection>(Direction, ignoreCase: true);
        foreach (var text in PeerId)
        {
            if (ResolvePeer(text) is not { } peer)
                continue;
            if (!ShouldProcess($"peer {peer.ToShortString()}", AllowOnly ? $"Remove from the allow list, {direction}" : $"Remove from the deny list, {direction}"))
                continue;
            if (AllowOnly)
                gater.RemoveAllow(peer, direction);
            else
                gater.RemoveDeny(peer, direction);
            if (PassThru)
                WriteObject(new QuDagGateRule(gater, peer));
        }
    }
}
