using System.Management.Automation;
using QuDag.Network.Messaging;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Answers a request from Receive-QuDagRequest: a string as UTF-8, bytes as they are, any other object as its JSON.
/// A request is answered once, and only while its asker still waits. The request is the object Receive-QuDagRequest
/// wrote, or any object with its PeerId and RequestId (a mock's, a CSV row's), which the session finds among the
/// requests it handed out.
/// </summary>
[Cmdlet(VerbsCommunications.Send, "QuDagResponse", SupportsShouldProcess = true, DefaultParameterSetName = "Request")]
[OutputType(typeof(QuDagRequest))]
public sealed class SendQuDagResponseCommand : QuDagCmdlet
{
    /// <summary>The request to answer, as Receive-QuDagRequest writes it.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = "Request")]
    [ValidateNotNull]
    public QuDagRequest? Request { get; set; }

    /// <summary>The peer that asked (by property name from any object: Receive-QuDagRequest's, a mock's, a CSV row).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Id")]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string PeerId { get; set; } = "";

    /// <summary>The request's id, as the asker chose it (by property name).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Id")]
    [ValidateNotNull]
    [AllowEmptyString] // an id is the asker's choice; js and rust allow an empty one
    public string RequestId { get; set; } = "";

    /// <summary>The answer: a string (UTF-8), a byte array, or any other object (sent as compact JSON).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNull]
    public object Payload { get; set; } = "";

    /// <summary>Writes the request after answering it.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private byte[]? _payload;

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        if (Find() is not { } request)
            return;
        var payload = _payload ??= PayloadArgument.Encode(this, Payload, CommandId);
        var described = $"request '{request.RequestId}' from {request.ShortId}";
        if (payload.Length > QuDagRequestCodec.MaxResponseSize - 64)
        {
            WriteError(new ArgumentException($"A response of {payload.Length} bytes exceeds the protocol's 10 MiB cap."),
                "InvalidArgument", ErrorCategory.InvalidArgument, request);
            return;
        }
        if (!ShouldProcess(described, $"Answer with {payload.Length} bytes"))
            return;
        try
        {
            Await(request.Incoming.RespondAsync(payload));
        }
        catch (InvalidOperationException)
        {
            WriteError(new InvalidOperationException(
                    $"The {described} was already answered, or it timed out (its asker stopped waiting); a request is answered once."),
                "AlreadyAnswered", ErrorCategory.InvalidOperation, request);
            return;
        }
        if (PassThru)
            WriteObject(request);
    }

    /// <summary>The request to answer, or null after writing why there is none.</summary>
    private QuDagRequest? Find()
    {
        if (ParameterSetName == "Request")
            return Request;
        if (ResolvePeer(PeerId) is not { } peer)
            return null;
        if (RequestInbox.Of(CurrentSession).FindPending(peer, RequestId) is { } pending)
            return new QuDagRequest(pending);
        WriteError(new ItemNotFoundException(
                $"No request '{RequestId}' from {peer.ToShortString()} waits for an answer in session '{CurrentSession.Name}': it was answered, its asker gave up (the request timeout), or Receive-QuDagRequest never wrote it."),
            "RequestNotFound", ErrorCategory.ObjectNotFound, RequestId);
        return null;
    }
}
