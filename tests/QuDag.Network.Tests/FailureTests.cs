using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;

namespace QuDag.Network.Tests;

public class FailureTests
{
    [Fact]
    public async Task A_peer_that_authenticates_as_another_id_fails_with_an_identity_mismatch()
    {
        await using var real = await TestNode.StartAsync();
        using var claimed = NodeIdentity.Create();
        await using var manager = new ConnectionManager(10);

        var ex = await Assert.ThrowsAsync<PeerIdentityMismatchException>(() => manager.ConnectAsync(claimed.PeerId, real.EndPoint));

        Assert.Equal(claimed.PeerId, ex.Expected);
        Assert.Equal(real.Id, ex.Actual);
        Assert.Equal(ConnectFailureKind.IdentityMismatch, ex.Kind);
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(claimed.PeerId));
        Assert.Contains("mismatch", manager.GetPeer(claimed.PeerId)!.LastError);
        Assert.Equal(0, manager.OpenConnections);
    }

    [Fact]
    public async Task A_closed_port_fails_with_an_exception_naming_the_endpoint()
    {
        // Bound but not listening: the port refuses, and no other test or process can take it meanwhile.
        using var closed = ClosedPort();
        var endPoint = (IPEndPoint)closed.LocalEndPoint!;
        await using var manager = new ConnectionManager(10);
        var peer = PeerId.Parse(new string('d', 64));

        var ex = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer, endPoint));

        Assert.Equal(ConnectFailureKind.Unreachable, ex.Kind);
        Assert.Contains(endPoint.ToString(), ex.Message);
        Assert.IsType<SocketException>(ex.InnerException);
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(peer));
        Assert.Equal(0, manager.OpenConnections);
    }

    [Fact]
    public async Task A_listener_that_accepts_and_says_nothing_fails_at_the_handshake_timeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silent = new RawPeer((_, _) => Task.CompletedTask);
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { HandshakeTimeout = TimeSpan.FromSeconds(10), TimeProvider = time });
        var peer = PeerId.Parse(new string('e', 64));

        var connect = manager.ConnectAsync(peer, silent.EndPoint);
        await silent.Accepted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(connect.IsCompleted);
        Assert.Equal(ConnectionStatus.Connecting, await manager.GetStatusAsync(peer));

        time.Advance(TimeSpan.FromSeconds(10));

        var ex = await Assert.ThrowsAsync<PeerConnectException>(() => connect.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(ConnectFailureKind.Timeout, ex.Kind);
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(peer));
        Assert.Equal(0, manager.OpenConnections);
    }

    [Fact]
    public async Task A_listener_that_sends_garbage_fails_the_connect()
    {
        await using var garbage = new RawPeer(async (socket, ct) =>
        {
            var junk = new byte[4096];
            Random.Shared.NextBytes(junk);
            try { await socket.SendAsync(junk, ct); } catch (SocketException) { }
        });
        await using var manager = new ConnectionManager(10);
        var peer = PeerId.Parse(new string('f', 64));

        var ex = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer, garbage.EndPoint).WaitAsync(TimeSpan.FromSeconds(20)));

        Assert.Contains(ex.Kind, new[] { ConnectFailureKind.Authentication, ConnectFailureKind.Closed });
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(peer));
        Assert.Equal(0, manager.OpenConnections);
    }

    [Fact]
    public async Task A_frame_over_the_maximum_closes_the_connection_as_failed()
    {
        using var identity = NodeIdentity.Create();
        await using var hostile = new RawPeer(async (socket, ct) =>
        {
            await using var ssl = await RawPeer.ServeQuDagAsync(socket, identity, ct);
            var header = new byte[Frame.HeaderSize];
            BinaryPrimitives.WriteUInt32BigEndian(header, 64 * 1024 * 1024); // 64 MiB declared, never sent
            header[4] = (byte)FrameType.Data;
            await ssl.WriteAsync(header, ct);
            try { await ssl.ReadExactlyAsync(new byte[1], ct); } catch (Exception) { }
        });
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { MaxFrameSize = 1024 * 1024 });

        var failed = await Wait.ForStatusAsync(manager, identity.PeerId, ConnectionStatus.Failed,
            () => manager.ConnectAsync(identity.PeerId, hostile.EndPoint));

        Assert.Contains("exceeds the maximum frame size", failed.Reason);
        await Wait.UntilAsync(() => manager.OpenConnections == 0, "socket released");
        Assert.Equal(0, (await manager.GetMetricsAsync()).Connections);
    }

    [Fact]
    public async Task A_hello_over_the_maximum_fails_the_connect_as_a_protocol_error()
    {
        using var identity = NodeIdentity.Create();
        await using var hostile = new RawPeer(async (socket, ct) =>
        {
            var ssl = new System.Net.Security.SslStream(new NetworkStream(socket, ownsSocket: true));
            await ssl.AuthenticateAsServerAsync(TlsSettings.Server(identity), ct);
            var header = new byte[Frame.HeaderSize];
            BinaryPrimitives.WriteUInt32BigEndian(header, uint.MaxValue);
            header[4] = (byte)FrameType.Hello;
            await ssl.WriteAsync(header, ct);
            try { await ssl.ReadExactlyAsync(new byte[1], ct); } catch (Exception) { }
        });
        await using var manager = new ConnectionManager(10);

        var ex = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(identity.PeerId, hostile.EndPoint));

        Assert.Equal(ConnectFailureKind.Protocol, ex.Kind);
        Assert.Equal(0, manager.OpenConnections);
    }

    [Fact]
    public async Task Cancelling_a_connect_ends_it_and_releases_the_socket()
    {
        await using var silent = new RawPeer((_, _) => Task.CompletedTask);
        await using var manager = new ConnectionManager(10);
        using var cts = new CancellationTokenSource();
        var connect = manager.ConnectAsync(PeerId.Parse(new string('9', 64)), silent.EndPoint, cts.Token);
        await silent.Accepted.Task.WaitAsync(TimeSpan.FromSeconds(10));

        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connect.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, manager.OpenConnections);
    }

    private static Socket ClosedPort()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }
}
