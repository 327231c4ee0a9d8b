using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using QuDag.Network;

namespace QuDag.Benchmarks;

/// <summary>
/// The baselines' remote end: a TCP listener that completes TLS 1.3 with the manager's own settings
/// (TlsSettings, a prepared certificate context) and then runs a per-connection behaviour.
/// </summary>
internal sealed class BareTlsServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public BareTlsServer(NodeIdentity identity, Func<SslStream, CancellationToken, Task> serve, SslServerAuthenticationOptions? options = null)
    {
        options ??= TlsSettings.Server(identity);
        _listener.Start(1024);
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception)
                {
                    return;
                }
                socket.NoDelay = true;
                _ = Task.Run(async () =>
                {
                    await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
                    try
                    {
                        await ssl.AuthenticateAsServerAsync(options, _stop.Token);
                        await serve(ssl, _stop.Token);
                    }
                    catch (Exception)
                    {
                        // The client went away; nothing to report for a baseline.
                    }
                });
            }
        });
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Reads until the client closes.</summary>
    public static async Task DrainAsync(SslStream ssl, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        while (await ssl.ReadAsync(buffer, ct) > 0)
        {
        }
    }

    public static async Task<SslStream> ConnectAsync(IPEndPoint endPoint, SslClientAuthenticationOptions options)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
        await ssl.AuthenticateAsClientAsync(options);
        return ssl;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _loop;
    }
}
