using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Lists the peers the session knows, with status, endpoint, latency and pool state.</summary>
[Cmdlet(VerbsCommon.Get, "QuDagPeer")]
[OutputType(typeof(QuDagPeer))]
public sealed class GetQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>Only these peers: full ids, short ids, or wildcard patterns ('ab12*'); an unknown id is an error, a pattern that matches nothing is not.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    [SupportsWildcards]
    public string[]? PeerId { get; set; }

    /// <summary>Only peers with one of these statuses.</summary>
    [Parameter]
    [ValidateSet("Connected", "Connecting", "Disconnected", "Failed", "Known", IgnoreCase = true)]
    public string[]? Status { get; set; }

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
            foreach (var text in PeerId)
            {
                if (PeerIdArgument.IsPattern(text))
                {
                    var pattern = new WildcardPattern(text.Trim(), WildcardOptions.IgnoreCase);
                    found.AddRange(manager.GetPeers().Where(p => pattern.IsMatch(p.PeerId.ToString())));
                }
                else if (ResolveKnownPeer(text) is { } id && manager.GetPeer(id) is { } peer)
                {
                    found.Add(peer);
                }
            }
            peers = found.DistinctBy(p => p.PeerId);
        }
        foreach (var peer in peers)
        {
            var shown = new QuDagPeer(peer);
            if (Status is null || Status.Contains(shown.Status, StringComparer.OrdinalIgnoreCase))
                WriteObject(shown);
        }
    }
}
