using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Lists the peers the session knows, with status, endpoint, latency and pool state.</summary>
[Cmdlet(VerbsCommon.Get, "QuDagPeer")]
[OutputType(typeof(PeerInfo))]
public sealed class GetQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>Only these peers; an unknown one is an error.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public PeerId[]? PeerId { get; set; }

    /// <summary>Only peers with one of these statuses.</summary>
    [Parameter]
    public ConnectionStatus[]? Status { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        IEnumerable<PeerInfo> peers;
        if (PeerId is null)
        {
            peers = manager.GetPeers();
        }
        else
        {
            var found = new List<PeerInfo>();
            foreach (var id in PeerId)
            {
                if (manager.GetPeer(id) is { } peer)
                    found.Add(peer);
                else
                    WriteError(Errors.PeerNotFound(CommandId, id));
            }
            peers = found;
        }
        foreach (var peer in peers)
        {
            if (Status is null || (peer.Status is { } s && Status.Contains(s)))
                WriteObject(peer);
        }
    }
}
