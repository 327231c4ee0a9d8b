using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Measures PING/PONG round trips to connected peers.</summary>
[Cmdlet(VerbsDiagnostic.Test, "QuDagPeer")]
[OutputType(typeof(QuDagPingResult))]
public sealed class TestQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to ping; each must be connected.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public PeerId[] PeerId { get; set; } = [];

    /// <summary>Round trips per peer. Default 4.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; } = 4;

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        foreach (var peer in PeerId)
        {
            if (!IsKnownPeer(peer))
                continue;
            try
            {
                for (var i = 1; i <= Count; i++)
                    WriteObject(new QuDagPingResult(peer, i, Await(manager.PingAsync(peer, StopToken))));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ex, peer);
            }
        }
    }
}
