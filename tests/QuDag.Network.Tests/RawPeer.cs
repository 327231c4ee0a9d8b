using System.Net;
using System.Net.Sockets;
using QuDag.P2p.Upgrade.Multistream;

namespace QuDag.Network.Tests;

/// <summary>
/// A hand-driven remote end for hostile and broken peers: a raw TCP listener whose behaviour per accepted
/// socket the test scripts (say nothing, send garbage, drop at once, refuse every security protocol, or
/// complete the libp2p upgrade and then serve nothing).
/// </summary>
internal sealed class RawPeer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _accepted = [];
    private readonly List<Task> _handlers = [];
    private int _accepts;

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
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
                lock (_accepted)
                {
                    _accepted.Add(socket);
                    _handlers.Add(Task.Run(() => onAccept(socket, _stop.Token)));
                }
                Interlocked.Increment(ref _accepts);
                Accepted.TrySetResult();
            }
        });
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public TaskCompletionSource Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Accepts => Volatile.Read(ref _accepts);

    /// <summary>Speaks multistream-select and answers "na" to every security protocol proposed.</summary>
    public static async Task RefuseEverySecurityAsync(Socket socket, CancellationToken ct)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            await MultistreamSelect.HandleAsync(stream, _ => false, ct);
        }
        catch (Exception)
        {
            // The dialer gives up after its last proposal and closes: that ends the negotiation here.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _loop;
        Task[] handlers;
        lock (_accepted)
        {
            foreach (var s in _accepted)
                s.Dispose();
            handlers = _handlers.ToArray();
        }
        await Task.WhenAll(handlers).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
