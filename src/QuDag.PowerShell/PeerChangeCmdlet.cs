using System.Management.Automation;

namespace QuDag.PowerShell;

/// <summary>
/// The base of cmdlets that change something of each peer given (-PeerId from the pipeline): resolves each peer, asks
/// ShouldProcess right before the change, and with -PassThru writes the peer after it.
/// </summary>
public abstract class PeerChangeCmdlet : QuDagCmdlet
{
    /// <summary>The peers: full ids, or short ids the session knows.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>Writes each peer after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>What ShouldProcess asks about each peer ("Protect from trims (tag 'x')").</summary>
    protected abstract string Action { get; }

    /// <summary>Makes the change for one peer.</summary>
    protected abstract void Change(PeerId peer);

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        foreach (var text in PeerId)
        {
            if (ResolvePeer(text) is not { } peer || !ShouldProcess($"peer {peer.ToShortString()}", Action))
                continue;
            Change(peer);
            if (PassThru && DescribePeer(peer) is { } shown)
                WriteObject(shown);
        }
    }
}
