using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>Disconnects peers: the live connection waits in the idle pool for reuse; -Force closes it.</summary>
[Cmdlet(VerbsCommunications.Disconnect, "QuDagPeer", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagPeer))]
public sealed class DisconnectQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to disconnect: full ids, short ids, or objects with a PeerId property.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>Close the connection (and any pooled one) instead of pooling it.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Writes each disconnected peer.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        foreach (var text in PeerId)
        {
            if (ResolveKnownPeer(text) is not { } peer)
                continue;
            if (!ShouldProcess($"peer {peer.ToShortString()}", Force ? "Disconnect and close" : "Disconnect to the idle pool"))
                continue;
            try
            {
                Await(manager.DisconnectAsync(peer, Force, StopToken));
                if (PassThru)
                    WriteObject(DescribePeer(peer));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ex, text);
            }
        }
    }
}
