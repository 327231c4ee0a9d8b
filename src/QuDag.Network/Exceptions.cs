using System.Net;

namespace QuDag.Network;

/// <summary>The base of every error the connection manager raises on purpose.</summary>
public class QuDagException : Exception
{
    /// <summary>Creates the exception.</summary>
    public QuDagException(string message, PeerId? peerId = null, Exception? innerException = null)
        : base(message, innerException) => PeerId = peerId;

    /// <summary>The peer concerned, where there is one.</summary>
    public PeerId? PeerId { get; }
}

/// <summary>A connection to a peer could not be established.</summary>
public class PeerConnectException(string message, PeerId peerId, EndPoint? endPoint, ConnectFailureKind kind, Exception? innerException = null)
    : QuDagException(message, peerId, innerException)
{
    /// <summary>The endpoint that was dialed.</summary>
    public EndPoint? EndPoint { get; } = endPoint;

    /// <summary>Why it failed.</summary>
    public ConnectFailureKind Kind { get; } = kind;
}

/// <summary>The remote authenticated with a key whose peer id is not the one dialed.</summary>
public sealed class PeerIdentityMismatchException(PeerId expected, PeerId actual, EndPoint? endPoint)
    : PeerConnectException(
        $"Identity mismatch at {endPoint}: expected peer {expected}, but the remote authenticated as {actual}.",
        expected, endPoint, ConnectFailureKind.IdentityMismatch)
{
    /// <summary>The peer id that was dialed.</summary>
    public PeerId Expected { get; } = expected;

    /// <summary>The peer id the remote proved it holds.</summary>
    public PeerId Actual { get; } = actual;
}

/// <summary>Connects to the peer fail fast: its last dials all failed, and its circuit breaker is open.</summary>
public sealed class PeerCircuitOpenException(PeerId peerId, DateTimeOffset? retryAt, Exception? innerException = null)
    : PeerConnectException(
        $"The circuit breaker of peer {peerId} is open after repeated connect failures; the next attempt is allowed {(retryAt is { } at ? "at " + at.ToString("u") : "soon")}.",
        peerId, null, ConnectFailureKind.CircuitOpen, innerException)
{
    /// <summary>When the breaker lets a trial connect through.</summary>
    public DateTimeOffset? RetryAt { get; } = retryAt;
}

/// <summary>The connection gater does not allow the peer (<see cref="ConnectionGater"/>).</summary>
public sealed class PeerDeniedException(PeerId peerId)
    : PeerConnectException($"Peer {peerId} is not allowed by the connection gater.", peerId, null, ConnectFailureKind.Denied);

/// <summary>
/// A new connection would pass the manager's limit (<see cref="ConnectionManagerOptions.MaxConnections"/>, the system
/// scope's connection limit) and nothing could be closed to make room: no idle pooled connection and, with
/// <see cref="ConnectionManagerOptions.TrimAtLimit"/>, no connection to trim. The inner exception is the system scope's
/// refusal.
/// </summary>
public sealed class ConnectionLimitReachedException(QuDag.P2p.Resources.ResourceLimitExceededException refused, PeerId? peerId)
    : QuDagException($"The connection limit is reached: {refused.ScopeText} is at its limit of {refused.Limit} {refused.Resource} " +
        $"({refused.InUse} in use), and no idle connection could be closed to make room.", peerId, refused)
{
    /// <summary>The limit that refused (MaxConnections, or a direction's limit of the system scope).</summary>
    public int Limit { get; } = (int)Math.Min(refused.Limit, int.MaxValue);

    /// <summary>The scope whose limit refused, as a close names it: "system".</summary>
    public string Scope { get; } = refused.ScopeLabel;
}

/// <summary>No endpoint is known for the peer: add one with <see cref="ConnectionManager.AddPeer(PeerId, System.Net.EndPoint)"/> or pass it.</summary>
public sealed class PeerAddressUnknownException(PeerId peerId, string? detail = null)
    : QuDagException($"No endpoint is known for peer {peerId}: add it to the address book or pass one{detail}.", peerId);

/// <summary>A DHT operation on a manager whose <see cref="ConnectionManagerOptions.DhtMode"/> is Off.</summary>
public sealed class DhtDisabledException()
    : QuDagException("The DHT is off: set ConnectionManagerOptions.DhtMode to Client or Server.");

/// <summary>The operation needs an active connection to the peer, and there is none.</summary>
public sealed class PeerNotConnectedException(PeerId peerId)
    : QuDagException($"Peer {peerId} is not connected.", peerId);

/// <summary>A remote broke the QuDAG framing protocol (oversized frame, unknown type, malformed payload).</summary>
public sealed class QuDagProtocolException(string message, PeerId? peerId = null)
    : QuDagException(message, peerId);

/// <summary>The peer does not speak a protocol the operation needs (multistream-select answered "na").</summary>
public sealed class PeerProtocolNotSupportedException(PeerId peerId, string protocol)
    : QuDagException($"Peer {peerId} does not speak {protocol}.", peerId)
{
    /// <summary>The protocol id that was refused.</summary>
    public string Protocol { get; } = protocol;
}

/// <summary>A request on <c>/qudag/req/1.0.0</c> got no response within the request timeout.</summary>
public sealed class RequestTimeoutException(PeerId peerId, string requestId, TimeSpan timeout)
    : QuDagException($"Peer {peerId} did not answer request '{requestId}' within {timeout.TotalSeconds:0.###} s.", peerId)
{
    /// <summary>The request's id.</summary>
    public string RequestId { get; } = requestId;
}
