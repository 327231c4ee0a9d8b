using System.Net.Sockets;
using System.Security.Authentication;
using QuDag.P2p;
using QuDag.P2p.Transport.Tcp;

namespace QuDag.Network;

/// <summary>
/// Why a connection failed before it was established. One classification for every place that names a failure: the
/// <see cref="PeerConnectException.Kind"/> of a dial, the module's error ids, and the <c>error.type</c> of
/// <c>qudag.connection.failures</c> (inbound and outbound).
/// </summary>
public enum ConnectFailureKind
{
    /// <summary>The TCP connection was refused or could not be made, or the name did not resolve.</summary>
    Unreachable,

    /// <summary>The connection was not set up (TCP, security, muxer) within the connect timeout.</summary>
    Timeout,

    /// <summary>The security handshake (Noise or TLS) failed: a bad signature, a rejected certificate, garbage inside it.</summary>
    Authentication,

    /// <summary>The remote authenticated as another peer than the one dialed.</summary>
    IdentityMismatch,

    /// <summary>
    /// The remote does not speak libp2p with us: multistream-select broke (an HTTP server, one that hangs up at once)
    /// or the remote refused every security protocol or muxer offered.
    /// </summary>
    Protocol,

    /// <summary>The remote closed or reset the connection during the security handshake.</summary>
    Closed,

    /// <summary>The peer's circuit breaker is open after repeated failures: the dial was not tried.</summary>
    CircuitOpen,

    /// <summary>The connection gater does not allow this peer in this direction.</summary>
    Denied,

    /// <summary>The connection limit is reached and nothing idle could be closed to make room.</summary>
    LimitReached,

    /// <summary>The caller cancelled the connect (Ctrl+C, a disposal): it says nothing of the peer.</summary>
    Cancelled,

    /// <summary>Anything else.</summary>
    Other,
}

/// <summary>Classifies failures (<see cref="ConnectFailureKind"/>) and names them for metrics.</summary>
public static class ConnectFailures
{
    private static readonly string[] s_names =
        ["unreachable", "timeout", "authentication", "identity_mismatch", "protocol", "closed", "circuit_open", "denied",
         "limit_reached", "cancelled", "other"];

    /// <summary>How many kinds there are (the metrics keep a counter per kind).</summary>
    public static int Count => s_names.Length;

    /// <summary>The kind's attribute value (snake_case, as OpenTelemetry's <c>error.type</c> values are).</summary>
    public static string Name(ConnectFailureKind kind) => s_names[(int)kind];

    /// <summary>
    /// The kind of a failure, from the manager's own errors or straight from the libp2p stack and the platform: the
    /// order matters, the most specific type first.
    /// </summary>
    public static ConnectFailureKind Classify(Exception error) => error switch
    {
        PeerConnectException known => known.Kind,
        ConnectionLimitReachedException => ConnectFailureKind.LimitReached,
        QuDag.P2p.Resources.ResourceLimitExceededException => ConnectFailureKind.LimitReached, // a resource scope refused it
        PeerIdMismatchException => ConnectFailureKind.IdentityMismatch,
        ConnectionGatedException => ConnectFailureKind.Denied,
        // The transport's own timeout and the upgrade deadline: the connect did not finish in time.
        TimeoutException => ConnectFailureKind.Timeout,
        OperationCanceledException => ConnectFailureKind.Cancelled,
        AddressResolutionException or DialFailedException or TransportNotSupportedException => ConnectFailureKind.Unreachable,
        ProtocolNotSupportedException or UpgradeNegotiationException or QuDagProtocolException => ConnectFailureKind.Protocol,
        // What is left of the stack's protocol errors comes from inside the security handshake.
        P2pProtocolException or AuthenticationException => ConnectFailureKind.Authentication,
        P2pException => ConnectFailureKind.Other,
        SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable
            or SocketError.NetworkUnreachable or SocketError.HostNotFound or SocketError.AddressNotAvailable } => ConnectFailureKind.Unreachable,
        // A reset or an end of stream after the TCP connect was made: the remote hung up mid-handshake.
        SocketException or IOException => ConnectFailureKind.Closed,
        _ => ConnectFailureKind.Other,
    };
}
