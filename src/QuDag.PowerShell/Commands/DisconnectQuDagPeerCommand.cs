using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Disconnects peers: the live connection waits in the idle pool for reuse; -Force closes it.</summary>
[Cmdlet(VerbsCommunications.Disconnect, "QuDagPeer", SupportsShouldProcess = true)]
[OutputType(typeof(PeerInfo))]
public sealed class DisconnectQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to disconnect.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public PeerId[] PeerId { get; set; } = [];

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
        foreach (var peer in PeerId)
        {
            if (!IsKnownPeer(peer))
                continue;
            if (!ShouldProcess($"peer {peer.Short}", Force ? "Disconnect and close" : "Disconnect to the idle pool"))
                continue;
            try
            {
                Await(manager.DisconnectAsync(peer, Force, StopToken));
                if (PassThru)
                    WriteObject(manager.GetPeer(peer));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                WriteError(ex, peer);
            }
        }
    }
}
