using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell;

/// <summary>
/// Maps exceptions to error records: id <c>&lt;Cmdlet&gt;&lt;Problem&gt;</c>, a fitting category, and a message
/// that says what happened in the user's terms (never a bare .NET message with a "(Parameter 'x')" suffix).
/// </summary>
internal static class Errors
{
    public static ErrorRecord From(Exception exception, string commandId, object? target)
    {
        if (exception is AggregateException { InnerExceptions.Count: 1 } aggregate)
            exception = aggregate.InnerExceptions[0];
        var (problem, category) = exception switch
        {
            QuDagArgumentException { Problem: "PeerNotFound" } => ("PeerNotFound", ErrorCategory.ObjectNotFound),
            QuDagArgumentException { Problem: "NameNotResolved" } => ("NameNotResolved", ErrorCategory.ObjectNotFound),
            QuDagArgumentException known => (known.Problem, ErrorCategory.InvalidArgument),
            ConnectionLimitReachedException => ("LimitReached", ErrorCategory.LimitsExceeded),
            QuDag.P2p.Resources.ResourceLimitExceededException => ("LimitReached", ErrorCategory.LimitsExceeded),
            PeerConnectException { Kind: ConnectFailureKind.LimitReached } => ("LimitReached", ErrorCategory.LimitsExceeded),
            PeerIdentityMismatchException => ("IdentityMismatch", ErrorCategory.AuthenticationError),
            PeerCircuitOpenException => ("CircuitOpen", ErrorCategory.ResourceUnavailable),
            PeerDeniedException => ("Denied", ErrorCategory.PermissionDenied),
            PeerConnectException { Kind: ConnectFailureKind.Authentication } => ("AuthenticationFailed", ErrorCategory.AuthenticationError),
            PeerConnectException { Kind: ConnectFailureKind.Timeout } => ("Timeout", ErrorCategory.OperationTimeout),
            PeerConnectException { Kind: ConnectFailureKind.Protocol } => ("ProtocolError", ErrorCategory.ProtocolError),
            PeerConnectException { Kind: ConnectFailureKind.Unreachable } => ("Unreachable", ErrorCategory.ConnectionError),
            PeerConnectException => ("ConnectionFailed", ErrorCategory.ConnectionError),
            PeerAddressUnknownException => ("AddressUnknown", ErrorCategory.ObjectNotFound),
            PeerNotConnectedException => ("NotConnected", ErrorCategory.ConnectionError),
            // A libp2p peer that is not QuDag.PS (rust, go, js) refuses /qudag-ps/msg/1.0.0: say so, not "Failed".
            PeerProtocolNotSupportedException => ("ProtocolNotSupported", ErrorCategory.ProtocolError),
            RequestTimeoutException => ("Timeout", ErrorCategory.OperationTimeout),
            QuDagProtocolException => ("ProtocolError", ErrorCategory.ProtocolError),
            TimeoutException => ("Timeout", ErrorCategory.OperationTimeout),
            ObjectDisposedException => ("SessionClosed", ErrorCategory.ResourceUnavailable),
            ArgumentException => ("InvalidArgument", ErrorCategory.InvalidArgument),
            IOException => ("ConnectionFailed", ErrorCategory.ConnectionError),
            _ => ("Failed", ErrorCategory.NotSpecified),
        };
        var record = new ErrorRecord(exception, commandId + problem, category, target);
        if (Message(exception) is { } message && message != exception.Message)
            record.ErrorDetails = new ErrorDetails(message);
        return record;
    }

    /// <summary>The text a user reads for <paramref name="exception"/>.</summary>
    public static string? Message(Exception exception) => exception switch
    {
        PeerIdentityMismatchException m =>
            $"Identity mismatch at {AddressArgument.Format(m.EndPoint)}: expected peer {m.Expected}, but the remote authenticated as {m.Actual}.",
        QuDagSessionClosedException => null, // its message says it all
        // The core's own (ObjectName "ConnectionManager"): the cmdlets explain it with their session when they can.
        ObjectDisposedException => "The QuDag session was closed; use Get-QuDagSession or New-QuDagSession for an open one.",
        ArgumentException { ParamName: { } name } a => a.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal),
        _ => null,
    };

    public static ErrorRecord PeerNotFound(string commandId, PeerId peerId) =>
        new(new ItemNotFoundException($"The session knows no peer {peerId}."), commandId + "PeerNotFound", ErrorCategory.ObjectNotFound,
            PeerIdArgument.Format(peerId));

    public static ErrorRecord SessionClosed(string commandId, QuDagSession session) =>
        new(session.ClosedException(), commandId + "SessionClosed", ErrorCategory.ResourceUnavailable, session);
}
