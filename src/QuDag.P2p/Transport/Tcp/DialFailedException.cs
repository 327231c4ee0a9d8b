using System.Net;
using System.Net.Sockets;

namespace QuDag.P2p.Transport.Tcp;

/// <summary>
/// A TCP connect failed (refused, unreachable, reset); the <see cref="SocketException"/> is the inner
/// exception. A connect that times out is a <see cref="TimeoutException"/> instead.
/// </summary>
public sealed class DialFailedException : P2pException
{
    public DialFailedException(EndPoint endPoint, SocketException inner)
        : base($"Dialing {endPoint} failed: {inner.SocketErrorCode} ({inner.Message}).", inner)
    {
        EndPoint = endPoint;
        SocketError = inner.SocketErrorCode;
    }

    /// <summary>The address dialed (for a name, the resolved address that failed last).</summary>
    public EndPoint EndPoint { get; }

    /// <summary>Why, for example <see cref="SocketError.ConnectionRefused"/>.</summary>
    public SocketError SocketError { get; }
}
