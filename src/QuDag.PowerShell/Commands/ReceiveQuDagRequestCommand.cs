using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Takes requests peers sent this node on /qudag/req/1.0.0, from any peer or from one; waits for them, up to
/// -TimeoutSeconds. Answer each with Send-QuDagResponse before the asker's request timeout.
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "QuDagRequest")]
[OutputType(typeof(QuDagRequest))]
public sealed class ReceiveQuDagRequestCommand : QuDagCmdlet
{
    /// <summary>Only requests from this peer; others stay queued for later calls.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string? PeerId { get; set; }

    /// <summary>How many requests to receive. Default 1.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; } = 1;

    /// <summary>How long to wait in all, in seconds; forever when omitted.</summary>
    [Parameter]
    [Alias("Timeout")]
    [Seconds(1, SecondsAttribute.Month)]
    public int TimeoutSeconds { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        PeerId? from = null;
        if (PeerId is not null)
        {
            if (ResolvePeer(PeerId) is not { } peer)
                return;
            from = peer;
        }
        var session = CurrentSession;
        var inbox = RequestInbox.Of(session);
        using var deadline = TimeoutSeconds > 0 ? new CancellationTokenSource(TimeSpan.FromSeconds(TimeoutSeconds)) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(StopToken, deadline.Token);
        for (var i = 0; i < Count; i++)
        {
            try
            {
                WriteObject(new QuDagRequest(Await(inbox.ReceiveAsync(session, from, linked.Token))));
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !StopToken.IsCancellationRequested)
            {
                WriteError(new TimeoutException($"Received {i} of {Count} requests within {TimeoutSeconds} s."),
                    "Timeout", ErrorCategory.OperationTimeout, PeerId);
                return;
            }
            catch (ObjectDisposedException ex)
            {
                ThrowSessionClosed(ex);
            }
        }
    }
}
