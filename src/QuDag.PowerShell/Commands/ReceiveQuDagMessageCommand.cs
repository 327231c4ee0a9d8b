using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Receives messages, from any peer or from one, or with -Topic the messages of a subscribed gossipsub topic; waits
/// for them, up to -TimeoutSeconds.
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "QuDagMessage", DefaultParameterSetName = "Peer")]
[OutputType(typeof(QuDagMessage), ParameterSetName = ["Peer"])]
[OutputType(typeof(QuDagTopicMessage), ParameterSetName = ["Topic"])]
public sealed class ReceiveQuDagMessageCommand : QuDagCmdlet
{
    /// <summary>Only messages from this peer; others stay queued for later calls.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = "Peer")]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string? PeerId { get; set; }

    /// <summary>A gossipsub topic the session subscribes to (Register-QuDagTopic): its messages, in arrival order.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Topic")]
    [ValidateNotNullOrEmpty]
    public string Topic { get; set; } = "";

    /// <summary>How many messages to receive. Default 1.</summary>
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
        if (ParameterSetName == "Topic")
        {
            ReceiveTopic();
            return;
        }
        PeerId? from = null;
        if (PeerId is not null)
        {
            if (ResolvePeer(PeerId) is not { } peer)
                return;
            from = peer;
        }
        using var deadline = TimeoutSeconds > 0 ? new CancellationTokenSource(TimeSpan.FromSeconds(TimeoutSeconds)) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(StopToken, deadline.Token);
        for (var i = 0; i < Count; i++)
        {
            try
            {
                WriteObject(new QuDagMessage(Await(CurrentSession.ReceiveAsync(from, linked.Token))));
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                WriteError(new TimeoutException($"Received {i} of {Count} messages within {TimeoutSeconds} s."),
                    "Timeout", ErrorCategory.OperationTimeout, PeerId);
                return;
            }
            catch (ObjectDisposedException ex)
            {
                ThrowSessionClosed(ex);
            }
        }
    }

    private void ReceiveTopic()
    {
        var manager = CurrentSession.Manager;
        if (!manager.SubscribedTopics.Contains(Topic))
        {
            ThrowTerminatingError(new ErrorRecord(new QuDag.Network.TopicNotSubscribedException(Topic), CommandId + "NotSubscribed",
                ErrorCategory.InvalidOperation, Topic));
        }
        using var deadline = TimeoutSeconds > 0 ? new CancellationTokenSource(TimeSpan.FromSeconds(TimeoutSeconds)) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(StopToken, deadline.Token);
        for (var i = 0; i < Count; i++)
        {
            try
            {
                WriteObject(new QuDagTopicMessage(Await(manager.ReceiveTopicAsync(Topic, linked.Token).AsTask())));
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                WriteError(new TimeoutException($"Received {i} of {Count} messages on '{Topic}' within {TimeoutSeconds} s."),
                    "Timeout", ErrorCategory.OperationTimeout, Topic);
                return;
            }
            catch (QuDag.Network.TopicNotSubscribedException ex)
            {
                WriteError(ex, "NotSubscribed", ErrorCategory.InvalidOperation, Topic);
                return;
            }
        }
    }
}
