using System.Net;
using System.Net.Sockets;

namespace QuDag.P2p.Transport.Tcp;

/// <summary>Binding or listening on a local address failed, most often because the port is in use.</summary>
public sealed class ListenFailedException : P2pException
{
    public ListenFailedException(EndPoint endPoint, SocketException inner)
        : base(inner.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? $"Cannot listen on {endPoint}: the address is already in use."
                : $"Cannot listen on {endPoint}: {inner.SocketErrorCode} ({inner.Message}).", inner)
    {
        EndPoint = endPoint;
        SocketError = inner.SocketErrorCode;
    }

    /// <summary>The address asked for.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>Why, for example <see cref="SocketError.AddressAlreadyInUse"/>.</summary>
    public SocketError SocketError { get; }
}
