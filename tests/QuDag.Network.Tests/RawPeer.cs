using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace QuDag.Network.Tests;

/// <summary>
/// A hand-driven remote end for hostile and broken peers: a TCP listener whose behaviour per accepted
/// socket the test scripts (say nothing, send garbage, speak TLS and then break the framing).
/// </summary>
internal sealed class RawPeer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _accepted = [];

    public RawPeer(Func<Socket, CancellationToken, Task> onAccept)
    {
        _listener.Start();
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptSocketAsync(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                lock (_accepted)
                    _accepted.Add(socket);
                Accepted.TrySetResult();
                _ = Task.Run(() => onAccept(socket, _stop.Token));
            }
        });
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public TaskCompletionSource Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes TLS as <paramref name="identity"/> and the HELLO exchange, then hands the stream over.</summary>
    public static async Task<SslStream> ServeQuDagAsync(Socket socket, NodeIdentity identity, CancellationToken ct)
    {
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
        await ssl.AuthenticateAsServerAsync(TlsSettings.Server(identity), ct);
        var hello = new byte[Frame.HeaderSize + Hello.Size];
        await ssl.ReadExactlyAsync(hello, ct);
        Hello.Current.WriteTo(hello.AsSpan(Frame.HeaderSize));
        await ssl.WriteAsync(hello, ct);
        return ssl;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _loop;
        lock (_accepted)
        {
            foreach (var s in _accepted)
                s.Dispose();
        }
    }
}
