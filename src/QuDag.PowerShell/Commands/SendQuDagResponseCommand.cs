using System.Management.Automation;
using QuDag.Network.Messaging;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Answers a request from Receive-QuDagRequest: a string as UTF-8, bytes as they are, any other object as its JSON.
/// A request is answered once, and only while its asker still waits.
/// </summary>
[Cmdlet(VerbsCommunications.Send, "QuDagResponse", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagRequest))]
public sealed class SendQuDagResponseCommand : QuDagCmdlet
{
    /// <summary>The request to answer, as Receive-QuDagRequest writes it.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public QuDagRequest? Request { get; set; }

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
        var request = Request!;
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
}
