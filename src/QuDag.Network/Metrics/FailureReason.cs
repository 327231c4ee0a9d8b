namespace QuDag.Network;

/// <summary>Why a connection failed before it was established: the <c>error.type</c> of <c>qudag.connection.failures</c>.</summary>
internal enum FailureReason
{
    Unreachable,
    Timeout,
    Authentication,
    IdentityMismatch,
    Protocol,
    Closed,
    CircuitOpen,
    Denied,
    LimitReached,
    Cancelled,
    Other,
}

/// <summary>The reasons' attribute values (snake_case, as OpenTelemetry's <c>error.type</c> values are) and how an exception maps to one.</summary>
internal static class FailureReasons
{
    public static readonly int Count = Enum.GetValues<FailureReason>().Length;

    public static readonly string[] Names =
        ["unreachable", "timeout", "authentication", "identity_mismatch", "protocol", "closed", "circuit_open", "denied", "limit_reached", "cancelled", "other"];

    public static FailureReason Of(Exception exception) => exception switch
    {
        PeerConnectException { Kind: var kind } => kind switch
        {
            ConnectFailureKind.Unreachable => FailureReason.Unreachable,
            ConnectFailureKind.Timeout => FailureReason.Timeout,
            ConnectFailureKind.Authentication => FailureReason.Authentication,
            ConnectFailureKind.IdentityMismatch => FailureReason.IdentityMismatch,
            ConnectFailureKind.Protocol => FailureReason.Protocol,
            ConnectFailureKind.Closed => FailureReason.Closed,
            ConnectFailureKind.CircuitOpen => FailureReason.CircuitOpen,
            ConnectFailureKind.Denied => FailureReason.Denied,
            _ => FailureReason.Other,
        },
        ConnectionLimitReachedException => FailureReason.LimitReached,
        OperationCanceledException => FailureReason.Cancelled,
        TimeoutException => FailureReason.Timeout,
        System.Net.Sockets.SocketException => FailureReason.Unreachable,
        System.Security.Authentication.AuthenticationException => FailureReason.Authentication,
        QuDagProtocolException => FailureReason.Protocol,
        // Failures of an inbound upgrade come straight from the libp2p stack.
        QuDag.P2p.ConnectionGatedException => FailureReason.Denied,
        QuDag.P2p.ProtocolNotSupportedException => FailureReason.Protocol,
        QuDag.P2p.P2pProtocolException => FailureReason.Authentication,
        IOException => FailureReason.Closed,
        _ => FailureReason.Other,
    };
}
