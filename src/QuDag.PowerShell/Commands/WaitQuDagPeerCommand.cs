using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Waits until known peers reach a status; an unknown peer is an error at once; Ctrl+C stops the wait.</summary>
[Cmdlet(VerbsLifecycle.Wait, "QuDagPeer")]
[OutputType(typeof(QuDagPeer))]
public sealed class WaitQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to wait for: full ids, short ids, or objects with a PeerId property.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>The status to wait for. Default Connected.</summary>
    [Parameter(Position = 1)]
    [ValidateSet("Connected", "Connecting", "Disconnected", "Failed", IgnoreCase = true)]
    public string Status { get; set; } = nameof(ConnectionStatus.Connected);

    /// <summary>How long to wait for each peer, in seconds; forever when omitted.</summary>
    [Parameter]
    [Alias("Timeout")]
    [Seconds(1, SecondsAttribute.Month)]
    public int TimeoutSeconds { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        var status = Enum.Parse<ConnectionStatus>(Status, ignoreCase: true);
        foreach (var text in PeerId)
        {
            if (ResolveKnownPeer(text) is not { } peer)
                continue;
            var reached = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (manager.Subscribe(peer, e =>
            {
                if (e.NewStatus == status)
                    reached.TrySetResult(true);
            }))
            {
                // Subscribe first, then read: a change between the two cannot be missed.
                if (manager.GetPeer(peer)?.Status != status)
                {
                    var wait = TimeoutSeconds > 0 ? reached.Task.WaitAsync(TimeSpan.FromSeconds(TimeoutSeconds)) : reached.Task;
                    try
                    {
                        Await(wait);
                    }
                    catch (TimeoutException ex)
                    {
                        WriteError(new TimeoutException($"Peer {peer.ToShortString()} did not reach {status} within {TimeoutSeconds} s.", ex),
                            "Timeout", ErrorCategory.OperationTimeout, text);
                        continue;
                    }
                }
            }
            WriteObject(DescribePeer(peer));
        }
    }
}
