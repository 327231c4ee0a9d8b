using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell;

/// <summary>Maps the core's typed exceptions to error records: id <c>&lt;Cmdlet&gt;&lt;Problem&gt;</c> and a fitting category.</summary>
internal static class Errors
{
    public static ErrorRecord From(Exception exception, string commandId, object? target)
    {
        if (exception is AggregateException { InnerExceptions.Count: 1 } aggregate)
            exception = aggregate.InnerExceptions[0];
        var (problem, category) = exception switch
        {
            ConnectionLimitReachedException => ("LimitReached", ErrorCategory.LimitsExceeded),
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
            QuDagProtocolException => ("ProtocolError", ErrorCategory.ProtocolError),
            TimeoutException => ("Timeout", ErrorCategory.OperationTimeout),
            ObjectDisposedException => ("SessionClosed", ErrorCategory.ResourceUnavailable),
            ArgumentException => ("InvalidArgument", ErrorCategory.InvalidArgument),
            IOException => ("ConnectionFailed", ErrorCategory.ConnectionError),
            _ => ("Failed", ErrorCategory.NotSpecified),
        };
        return new ErrorRecord(exception, commandId + problem, category, target);
    }

    public static ErrorRecord PeerNotFound(string commandId, PeerId peerId) =>
        new(new ItemNotFoundException($"The session knows no peer {peerId}."), commandId + "PeerNotFound", ErrorCategory.ObjectNotFound, peerId);
}
