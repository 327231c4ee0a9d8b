using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Encoding;
using QuDag.P2p.Upgrade;

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
        Assert.Contains(claimed.PeerId.ToString(), ex.Message); // both full ids, not the short forms
        Assert.Contains(real.Id.ToString(), ex.Message);
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(claimed.PeerId));
        Assert.Contains("mismatch", manager.GetPeer(claimed.PeerId)!.LastError);
        Assert.Equal(CloseReason.IdentityMismatch, manager.GetPeer(claimed.PeerId)!.CloseReason);
        Assert.Equal(0, manager.OpenConnections);
        Assert.Empty(manager.Host.Connections);
    }

    [Fact]
    public async Task A_hostile_peer_that_upgrades_as_another_identity_fails_with_an_identity_mismatch()
    {
        // The remote end is no manager: a raw listener that completes Noise/TLS and yamux with a key of its own.
        using var claimed = NodeIdentity.Create();
        using var actual = NodeIdentity.Create();
        using var upgrader = new InboundUpgrader(actual);
        await using var impostor = new RawPeer(async (socket, ct) =>
        {
            try
            {
                await using var connection = await upgrader.UpgradeAsync(socket, ct);
                await connection.Completion.WaitAsync(ct);
            }
            catch (Exception)
            {
                // The dialer drops it at the end of the handshake.
            }
        });
        await using var manager = new ConnectionManager(10);

        var ex = await Assert.ThrowsAsync<PeerIdentityMismatchException>(() => manager.ConnectAsync(claimed.PeerId, impostor.EndPoint));

        Assert.Equal(claimed.PeerId, ex.Expected);
        Assert.Equal(actual.PeerId, ex.Actual);
        Assert.Contains(claimed.PeerId.ToString(), ex.Message);
        Assert.Contains(actual.PeerId.ToString(), ex.Message);
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(claimed.PeerId));
        Assert.Equal(0, manager.OpenConnections);
        Assert.Empty(manager.Host.Connections);
    }

    [Fact]
    public async Task A_closed_port_fails_with_an_exception_naming_the_endpoint()
    {
        // Bound but not listening: the port refuses, and no other test or process can take it meanwhile.
        using var closed = Ids.ClosedPort();
        var endPoint = (IPEndPoint)closed.LocalEndPoint!;
        await using var manager = new ConnectionManager(10);
        var peer = Ids.Unheld();

        var ex = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer, endPoint));

        Assert.Equal(ConnectFailureKind.Unreachable, ex.Kind);
        Assert.Contains(endPoint.ToString(), ex.Message);
        var dial = Assert.IsType<QuDag.P2p.Transport.Tcp.DialFailedException>(ex.InnerException);
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(dial.InnerException, exactMatch: false).SocketErrorCode);
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(peer));
        Assert.Equal(0, manager.OpenConnections);
    }

    [Fact]
    public async Task A_listener_that_accepts_and_says_nothing_fails_at_the_handshake_timeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // The dialer's first bytes (its multistream header) show its upgrade deadline is armed: the accept alone
        // does not (the dialer's connect may not have resumed yet), and advancing the clock before the deadline
        // exists would leave it 10 s away for good.
        var spoke = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var silent = new RawPeer(async (socket, ct) =>
        {
            await socket.ReceiveAsync(new byte[1], ct);
            spoke.TrySetResult();
        });
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { ConnectTimeout = TimeSpan.FromSeconds(10), TimeProvider = time });
        var peer = Ids.Unheld();

        var connect = manager.ConnectAsync(peer, silent.EndPoint);
        await spoke.Task.WaitAsync(TimeSpan.FromSeconds(10));
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
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { CircuitBreakerFailureThreshold = 0 });
        var peer = Ids.Unheld();

        // Whether our header or its garbage goes first, and whether its close reads as an EOF or a reset, varies from
        // run to run: the kind must not (it was Authentication one time and Closed the next).
        for (var i = 0; i < 8; i++)
        {
            var ex = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer, garbage.EndPoint).WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(ConnectFailureKind.Protocol, ex.Kind);
            Assert.StartsWith($"{garbage.EndPoint} did not negotiate a security protocol", ex.Message);
        }
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(peer));
        Assert.Equal(0, manager.OpenConnections);
    }

    [Fact]
    public async Task An_http_server_fails_every_connect_the_same_way_as_a_protocol_error()
    {
        // What a web server answers to bytes it cannot parse, then it closes: sometimes before our header is out.
        await using var http = new RawPeer(async (socket, ct) =>
        {
            try
            {
                await socket.SendAsync("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), ct);
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException) { }
        });
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { CircuitBreakerFailureThreshold = 0 });
        var peer = Ids.Unheld();

        for (var i = 0; i < 8; i++)
        {
            var ex = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer, http.EndPoint).WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(ConnectFailureKind.Protocol, ex.Kind);
            Assert.IsType<QuDag.P2p.UpgradeNegotiationException>(ex.InnerException);
        }
        Assert.Equal(8, manager.GetMetrics().FailedConnects);
    }

    [Fact]
    public async Task A_listener_that_accepts_then_drops_fails_the_connect_at_once()
    {
        await using var dropper = new RawPeer((socket, _) =>
        {
            socket.Dispose();
            return Task.CompletedTask;
        });
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { CircuitBreakerFailureThreshold = 0 });
        var peer = Ids.Unheld();

        for (var i = 0; i < 8; i++)
        {
            var ex = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer, dropper.EndPoint).WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(ConnectFailureKind.Protocol, ex.Kind);
        }
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(peer));
        Assert.Equal(0, manager.OpenConnections);
    }

    [Fact]
    public async Task A_peer_that_speaks_multistream_but_no_security_of_ours_fails_the_connect_as_a_protocol_error()
    {
        await using var hostile = new RawPeer(RawPeer.RefuseEverySecurityAsync);
        await using var manager = new ConnectionManager(10);
        var peer = Ids.Unheld();

        var ex = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer, hostile.EndPoint).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(ConnectFailureKind.Protocol, ex.Kind);
        Assert.Contains("/noise", ex.Message);
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(peer));
        Assert.Equal(0, manager.OpenConnections);
    }

    [Fact]
    public async Task A_negotiation_message_over_the_maximum_fails_the_connect_at_once()
    {
        // The handshake's first length prefix declares 4 GiB: refused on the prefix, nothing read or allocated for it.
        await using var hostile = new RawPeer(async (socket, ct) =>
        {
            var prefix = new byte[Varint.MaxLength];
            int length = Varint.Write(prefix, uint.MaxValue);
            try
            {
                await socket.SendAsync(prefix.AsMemory(0, length), ct);
                await socket.ReceiveAsync(new byte[1], ct);
            }
            catch (Exception) { }
        });
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow); // frozen: a failure cannot be the handshake timeout
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { TimeProvider = time });
        var peer = Ids.Unheld();

        var ex = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(peer, hostile.EndPoint).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(ConnectFailureKind.Protocol, ex.Kind); // multistream-select broke: not libp2p, or not with us
        Assert.Contains(uint.MaxValue.ToString(), ex.Message);
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(peer));
        Assert.Equal(0, manager.OpenConnections);
    }

    [Fact]
    public async Task Cancelling_a_connect_ends_it_and_releases_the_socket()
    {
        await using var silent = new RawPeer((_, _) => Task.CompletedTask);
        await using var manager = new ConnectionManager(10);
        using var cts = new CancellationTokenSource();
        var connect = manager.ConnectAsync(Ids.Unheld(), silent.EndPoint, cts.Token);
        await silent.Accepted.Task.WaitAsync(TimeSpan.FromSeconds(10));

        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connect.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, manager.OpenConnections);
    }
}
