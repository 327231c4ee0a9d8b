using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Waits until peers reach a status; Ctrl+C stops the wait at once.</summary>
[Cmdlet(VerbsLifecycle.Wait, "QuDagPeer")]
[OutputType(typeof(PeerInfo))]
public sealed class WaitQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to wait for.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public PeerId[] PeerId { get; set; } = [];

    /// <summary>The status to wait for. Default Connected.</summary>
    [Parameter(Position = 1)]
    public ConnectionStatus Status { get; set; } = ConnectionStatus.Connected;

    /// <summary>How long to wait for each peer; forever when omitted.</summary>
    [Parameter]
    public TimeSpan? Timeout { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        foreach (var peer in PeerId)
        {
            var reached = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (manager.Subscribe(peer, e =>
            {
                if (e.NewStatus == Status)
                    reached.TrySetResult(true);
            }))
            {
                // Subscribe first, then read: a change between the two cannot be missed.
                if (manager.GetStatusAsync(peer).Result != Status)
                {
                    var wait = Timeout is { } timeout ? reached.Task.WaitAsync(timeout) : reached.Task;
                    try
                    {
                        Await(wait);
                    }
                    catch (TimeoutException ex)
                    {
                        WriteError(new TimeoutException($"Peer {peer.Short} did not reach {Status} within {Timeout}.", ex),
                            "Timeout", ErrorCategory.OperationTimeout, peer);
                        continue;
                    }
                }
            }
            WriteObject(manager.GetPeer(peer));
        }
    }
}
