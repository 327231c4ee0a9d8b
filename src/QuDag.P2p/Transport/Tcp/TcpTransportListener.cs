using System.Net;
using System.Net.Sockets;

namespace QuDag.P2p.Transport.Tcp;

/// <summary>
/// A listening TCP socket. <see cref="IPAddress.IPv6Any"/> listens dual-stack, so IPv4 peers arrive as
/// IPv4-mapped addresses. Disposing it stops listening and fails pending accepts with
/// <see cref="ObjectDisposedException"/>; connections already accepted belong to their callers.
/// </summary>
public sealed class TcpTransportListener : IAsyncDisposable, IDisposable
{
    private readonly Socket _socket;
    private volatile bool _disposed;

    private TcpTransportListener(Socket socket, IPEndPoint localEndPoint)
    {
        _socket = socket;
        LocalEndPoint = localEndPoint;
    }

    /// <summary>The bound address, with the port the system chose when port 0 was asked for.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>
    /// Binds and listens on <paramref name="endPoint"/> (port 0 picks a free port). Throws
    /// <see cref="ListenFailedException"/> naming the address when it is in use or cannot be bound.
    /// </summary>
    public static TcpTransportListener Listen(IPEndPoint endPoint, int backlog = 512)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentOutOfRangeException.ThrowIfNegative(backlog);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.Address.Equals(IPAddress.IPv6Any))
                socket.DualMode = true;
            socket.Bind(endPoint);
            socket.Listen(backlog);
            return new TcpTransportListener(socket, (IPEndPoint)socket.LocalEndPoint!);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new ListenFailedException(endPoint, ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits for the next inbound connection and returns its socket, Nagle off. Throws
    /// <see cref="ObjectDisposedException"/> once the listener is disposed and
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async ValueTask<Socket> AcceptAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (_disposed && ex is SocketException or ObjectDisposedException)
            {
                throw new ObjectDisposedException(nameof(TcpTransportListener), ex);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                // The peer gave up between its handshake and our accept: wait for the next one.
                continue;
            }
            catch (SocketException ex)
            {
                throw new P2pException($"Accepting on {LocalEndPoint} failed: {ex.SocketErrorCode} ({ex.Message}).", ex);
            }
            try
            {
                accepted.NoDelay = true;
            }
            catch (SocketException)
            {
                // Reset before we touched it: drop it and wait for the next one.
                accepted.Dispose();
                continue;
            }
            return accepted;
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _socket.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public override string ToString() => $"tcp listener {LocalEndPoint}";
}
