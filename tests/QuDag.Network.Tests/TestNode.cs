using System.Net;
using QuDag.Network;

// Socket counts are asserted process-wide (/proc/self/fd), so tests must not overlap.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace QuDag.Network.Tests;

/// <summary>A real node: a manager listening on an ephemeral loopback port.</summary>
internal sealed class TestNode : IAsyncDisposable
{
    private TestNode(ConnectionManager manager, PeerListener listener)
    {
        Manager = manager;
        Listener = listener;
    }

    public ConnectionManager Manager { get; }

    public PeerListener Listener { get; }

    public PeerId Id => Manager.LocalPeerId;

    public IPEndPoint EndPoint => Listener.LocalEndPoint;

    public static async Task<TestNode> StartAsync(ConnectionManagerOptions? options = null, IPAddress? address = null)
    {
        var manager = new ConnectionManager(options ?? new ConnectionManagerOptions());
        var listener = await manager.ListenAsync(new IPEndPoint(address ?? IPAddress.Loopback, 0));
        return new TestNode(manager, listener);
    }

    public ValueTask DisposeAsync() => Manager.DisposeAsync();
}

internal static class Wait
{
    /// <summary>Polls a condition that another thread (or the remote end) makes true; fails after a bound.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
                Assert.Fail($"Timed out after {timeoutMs} ms waiting for: {what}");
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Waits until <paramref name="remote"/> tracks <paramref name="peer"/> as connected: its socket count rises at
    /// accept, before the handshake ends and the peer is adopted, so counting sockets is not enough.
    /// </summary>
    public static Task UntilConnectedAsync(ConnectionManager remote, PeerId peer) =>
        UntilAsync(() => remote.GetStatusAsync(peer).Result == ConnectionStatus.Connected, $"{remote.LocalPeerId.ToShortString()} sees {peer.ToShortString()} connected");

    /// <summary>Completes when the peer reaches <paramref name="status"/> in <paramref name="manager"/>.</summary>
    public static async Task<ConnectionStatusChangedEventArgs> ForStatusAsync(ConnectionManager manager, PeerId peer, ConnectionStatus status,
        Func<Task> action, int timeoutMs = 10_000)
    {
        var seen = new TaskCompletionSource<ConnectionStatusChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = manager.Subscribe(peer, e =>
        {
            if (e.NewStatus == status)
                seen.TrySetResult(e);
        });
        await action();
        return await seen.Task.WaitAsync(TimeSpan.FromMilliseconds(timeoutMs));
    }

    /// <summary>Open sockets of this process, from /proc/self/fd.</summary>
    public static int OpenSockets() =>
        Directory.GetFiles("/proc/self/fd").Count(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true;
            }
            catch (IOException)
            {
                return false; // closed while we looked
            }
        });
}

internal static class Ids
{
    /// <summary>A loopback socket bound but not listening: its port refuses connects, and nothing else can take it meanwhile.</summary>
    public static System.Net.Sockets.Socket ClosedPort()
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream,
            System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    /// <summary>The peer id of a fresh Ed25519 key: a well-formed id that no node holds.</summary>
    public static PeerId Unheld()
    {
        using var identity = NodeIdentity.Create();
        return identity.PeerId;
    }
}

internal static class Refused
{
    /// <summary>
    /// Connects <paramref name="dialer"/> to <paramref name="listener"/>, which refuses the connection (gater, limit).
    /// A libp2p listener learns who dials only at the end of the security handshake, and with the muxer agreed inside
    /// it the dialer's upgrade is complete by then: so the connect either fails (the close overtook it) or returns a
    /// connection the listener closes at once. Either way the dialer ends with no connection and says why.
    /// </summary>
    public static async Task ByTheRemoteAsync(ConnectionManager dialer, TestNode listener)
    {
        var connect = await Record.ExceptionAsync(() => dialer.ConnectAsync(listener.Id, listener.EndPoint));
        if (connect is not null)
        {
            var refused = Assert.IsAssignableFrom<PeerConnectException>(connect);
            Assert.True(refused.Kind is ConnectFailureKind.Authentication or ConnectFailureKind.Closed, $"refused as {refused.Kind}");
            return;
        }
        await Wait.UntilAsync(() => dialer.GetStatusAsync(listener.Id).Result is ConnectionStatus.Disconnected or ConnectionStatus.Failed,
            "the listener closed the connection it refused");
        var peer = dialer.GetPeer(listener.Id)!;
        Assert.True(peer.Status == ConnectionStatus.Disconnected || peer.LastError?.StartsWith("connection lost", StringComparison.Ordinal) == true,
            $"ended as {peer.Status}: {peer.LastError}");
        await Wait.UntilAsync(() => dialer.OpenConnections == 0, "the dialer released the refused connection");
    }
}
