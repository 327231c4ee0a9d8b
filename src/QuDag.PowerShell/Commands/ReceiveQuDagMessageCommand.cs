using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Receives messages, from any peer or from one; waits for them, up to -Timeout.</summary>
[Cmdlet(VerbsCommunications.Receive, "QuDagMessage")]
[OutputType(typeof(QuDagMessage))]
public sealed class ReceiveQuDagMessageCommand : QuDagCmdlet
{
    /// <summary>Only messages from this peer; others stay queued for later calls.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public PeerId? PeerId { get; set; }

    /// <summary>How many messages to receive. Default 1.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; } = 1;

    /// <summary>How long to wait in all; forever when omitted.</summary>
    [Parameter]
    public TimeSpan? Timeout { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        using var deadline = Timeout is { } t ? new CancellationTokenSource(t) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(StopToken, deadline.Token);
        for (var i = 0; i < Count; i++)
        {
            try
            {
                WriteObject(new QuDagMessage(Await(CurrentSession.ReceiveAsync(PeerId, linked.Token))));
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                WriteError(new TimeoutException($"Received {i} of {Count} messages within {Timeout}."),
                    "Timeout", ErrorCategory.OperationTimeout, PeerId);
                return;
            }
        }
    }
}
