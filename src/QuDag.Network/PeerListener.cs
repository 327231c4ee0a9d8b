using System.Net;
using System.Net.Sockets;

namespace QuDag.Network;

/// <summary>
/// Accepts inbound QuDAG connections for a <see cref="ConnectionManager"/>, which authenticates and tracks
/// them like its own. Disposing stops accepting; established connections stay with the manager.
/// </summary>
public sealed class PeerListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Func<Socket, Task> _accept;
    private readonly Action<PeerListener> _onDisposed;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _accepted;
    private int _disposed;

    internal PeerListener(IPEndPoint endPoint, Func<Socket, Task> accept, Action<PeerListener> onDisposed)
    {
        _accept = accept;
        _onDisposed = onDisposed;
        _socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
                _socket.DualMode = true;
            _socket.Bind(endPoint);
            _socket.Listen(512);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _loop = AcceptLoopAsync();
    }

    /// <summary>The bound endpoint (with the port chosen when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>TCP connections accepted so far: proof of whether a connect dialed or reused.</summary>
    public long AcceptedCount => Interlocked.Read(ref _accepted);

    /// <summary>True until disposed.</summary>
    public bool IsListening => Volatile.Read(ref _disposed) == 0;

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // a connection reset before accept completed; keep listening
            }
            Interlocked.Increment(ref _accepted);
            _ = _accept(client);
        }
    }

    /// <summary>Stops accepting and closes the listening socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _stop.Cancel();
        _socket.Dispose();
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        _onDisposed(this);
    }

    /// <inheritdoc/>
    public override string ToString() => LocalEndPoint.ToString();
}
