using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Sends a request on QuDAG's /qudag/req/1.0.0 to connected peers and writes each answer: a string as UTF-8, bytes
/// as they are, any other object as its JSON. A peer that is not connected, does not serve the protocol, or does not
/// answer in time gets a non-terminating error; the other peers are still asked.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "QuDagRequest")]
[OutputType(typeof(QuDagResponse))]
public sealed class InvokeQuDagRequestCommand : QuDagCmdlet
{
    /// <summary>The peers to ask; each must be connected.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>The request: a string (UTF-8), a byte array, or any other object (sent as compact JSON).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNull]
    public object Payload { get; set; } = "";

    /// <summary>The request id the answer carries back; a number unique in the session when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RequestId { get; set; }

    /// <summary>How long to wait for each answer, in seconds; the session's RequestTimeoutSeconds when omitted or longer.</summary>
    [Parameter]
    [Alias("Timeout")]
    [Seconds(1, SecondsAttribute.Day)]
    public int TimeoutSeconds { get; set; }

    private byte[]? _payload;

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var payload = _payload ??= PayloadArgument.Encode(this, Payload, CommandId);
        var manager = CurrentSession.Manager;
        foreach (var text in PeerId)
        {
            if (ResolveKnownPeer(text) is not { } peer)
                continue;
            using var deadline = new CancellationTokenSource();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(StopToken, deadline.Token);
            if (TimeoutSeconds > 0)
                deadline.CancelAfter(TimeSpan.FromSeconds(TimeoutSeconds));
            try
            {
                WriteVerbose($"Asking {peer.ToShortString()} ({payload.Length} bytes).");
                WriteObject(new QuDagResponse(Await(manager.RequestAsync(peer, payload, RequestId, linked.Token))));
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !StopToken.IsCancellationRequested)
            {
                WriteError(new TimeoutException($"Peer {peer} did not answer within {TimeoutSeconds} s."),
                    "Timeout", ErrorCategory.OperationTimeout, text);
            }
            catch (ObjectDisposedException ex)
            {
                ThrowSessionClosed(ex);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ex, text);
            }
        }
    }
}
