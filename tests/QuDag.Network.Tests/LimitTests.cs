namespace QuDag.Network.Tests;

public class LimitTests
{
    [Fact]
    public async Task At_the_limit_a_connect_closes_the_longest_idle_pooled_connection()
    {
        await using var a = await TestNode.StartAsync();
        await using var b = await TestNode.StartAsync();
        await using var c = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(2);
        await manager.ConnectAsync(a.Id, a.EndPoint);
        await manager.ConnectAsync(b.Id, b.EndPoint);
        await manager.DisconnectAsync(a.Id);
        await manager.DisconnectAsync(b.Id);

        await manager.ConnectAsync(c.Id, c.EndPoint);

        Assert.Equal(2, manager.OpenConnections);
        var left = Assert.Single(manager.GetPooledConnections());
        Assert.Equal(b.Id, left.PeerId); // a waited longest
        await Wait.UntilAsync(() => a.Manager.OpenConnections == 0, "a's connection closed");
        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(c.Id));
    }

    [Fact]
    public async Task At_the_limit_with_nothing_idle_a_connect_throws_the_typed_error_and_opens_nothing()
    {
        await using var a = await TestNode.StartAsync();
        await using var b = await TestNode.StartAsync();
        await using var c = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(2);
        await manager.ConnectAsync(a.Id, a.EndPoint);
        await manager.ConnectAsync(b.Id, b.EndPoint);

        var ex = await Assert.ThrowsAsync<ConnectionLimitReachedException>(() => manager.ConnectAsync(c.Id, c.EndPoint));

        Assert.Equal(2, ex.Limit);
        Assert.Equal(c.Id, ex.PeerId);
        Assert.Contains("the system scope is at its limit of 2 connections", ex.Message);
        var refusal = Assert.IsType<QuDag.P2p.Resources.ResourceLimitExceededException>(ex.InnerException);
        Assert.Equal(QuDag.P2p.Resources.ResourceScopeKind.System, refusal.Scope);
        Assert.Equal((CloseReason.Limit, "system"), (manager.GetPeer(c.Id)!.CloseReason, manager.GetPeer(c.Id)!.CloseScope));
        Assert.Equal(0, c.Listener.AcceptedCount);
        Assert.Equal(2, manager.OpenConnections);
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(c.Id));
        Assert.Equal(1, (await manager.GetMetricsAsync()).FailedConnects);
    }

    [Fact]
    public async Task At_the_limit_an_inbound_connection_closes_the_longest_idle_pooled_connection()
    {
        await using var node = await TestNode.StartAsync(new ConnectionManagerOptions { MaxConnections = 1 });
        await using var a = await TestNode.StartAsync();
        await using var b = await TestNode.StartAsync();
        await node.Manager.ConnectAsync(a.Id, a.EndPoint);
        await node.Manager.DisconnectAsync(a.Id); // pooled: it holds the one slot (and the system scope's one connection)

        await b.Manager.ConnectAsync(node.Id, node.EndPoint);

        await Wait.UntilConnectedAsync(node.Manager, b.Id);
        Assert.Empty(node.Manager.GetPooledConnections());
        Assert.Equal(CloseReason.Limit, node.Manager.GetPeer(a.Id)!.CloseReason);
        Assert.Equal(1, node.Manager.Resources.System.Usage().ConnectionsInbound);
        Assert.Equal(0, node.Manager.Resources.System.Blocked); // made room: nothing refused
    }

    [Fact]
    public async Task Inbound_connections_count_against_the_limit()
    {
        await using var node = await TestNode.StartAsync(new ConnectionManagerOptions { MaxConnections = 1 });
        await using var a = await TestNode.StartAsync();
        await using var b = await TestNode.StartAsync();
        await a.Manager.ConnectAsync(node.Id, node.EndPoint);
        await Wait.UntilConnectedAsync(node.Manager, a.Id);

        // The node's system scope refuses b's connection at open, before its handshake: b sees the socket close during
        // multistream-select (it cannot tell a full libp2p node from a server that hangs up), and holds nothing.
        var refused = await Assert.ThrowsAsync<PeerConnectException>(() => b.Manager.ConnectAsync(node.Id, node.EndPoint));
        Assert.Equal(ConnectFailureKind.Protocol, refused.Kind);
        Assert.Contains("connection limit", refused.Message); // the error says what a full node looks like from outside
        Assert.Equal(0, b.Manager.OpenConnections);

        await Wait.UntilAsync(() => node.Manager.GetMetrics().FailedInbound == 1, "the refusal counted");
        Assert.Equal(1, node.Manager.OpenConnections);
        Assert.Equal(1, node.Manager.Resources.System.Blocked);
        Assert.Throws<ConnectionLimitReachedException>(() => node.Manager.ConnectAsync(b.Id, b.EndPoint).GetAwaiter().GetResult());
    }

    [Fact]
    public async Task One_address_may_hold_only_its_share_of_the_handshakes_in_progress()
    {
        // A frozen clock: the silent sockets' handshakes never time out, so only the cap can refuse the third.
        var frozen = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var node = await TestNode.StartAsync(new ConnectionManagerOptions
        {
            MaxPendingInboundUpgradesPerAddress = 2,
            TimeProvider = frozen,
            KeepAliveInterval = TimeSpan.Zero,
        });
        using var first = await SilentSocketAsync(node.EndPoint);
        using var second = await SilentSocketAsync(node.EndPoint);
        await Wait.UntilAsync(() => node.Listener.AcceptedCount == 2, "both silent sockets accepted");

        using var third = await SilentSocketAsync(node.EndPoint);

        // Closed at once by the listener: the read ends (or is reset), and the refusal counts as a failed inbound.
        int read;
        try
        {
            read = await third.ReceiveAsync(new byte[1], System.Net.Sockets.SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionReset)
        {
            read = 0;
        }
        Assert.Equal(0, read);
        await Wait.UntilAsync(() => node.Manager.GetMetrics().FailedInbound == 1, "the refusal counted");
        Assert.Equal(2, node.Manager.OpenConnections); // the two handshakes in progress count under MaxConnections; the third never did
    }

    [Fact]
    public void The_per_address_share_must_be_at_least_one()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionManager(new ConnectionManagerOptions { MaxPendingInboundUpgradesPerAddress = 0 }));
        Assert.Equal(nameof(ConnectionManagerOptions.MaxPendingInboundUpgradesPerAddress), ex.ParamName);
    }

    private static async Task<System.Net.Sockets.Socket> SilentSocketAsync(System.Net.IPEndPoint endPoint)
    {
        var socket = new System.Net.Sockets.Socket(endPoint.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint);
        return socket;
    }

    /// <summary>
    /// Closes the first <paramref name="drops"/> outbound connections of <paramref name="manager"/> as soon as its host opens
    /// them, after the manager's own handler and before its dial gets them back, and waits until the manager heard each
    /// close: the window in which a connection ends before its dial hands it the slot.
    /// </summary>
    private static void DropRightAfterHandshake(ConnectionManager manager, int drops)
    {
        var dropped = 0;
        manager.Host.ConnectionOpened += connection =>
        {
            if (connection.Direction != QuDag.P2p.Upgrade.Direction.Outbound || Interlocked.Increment(ref dropped) > drops)
                return;
            var closes = manager.GetMetrics().ClosesByReason.Values.Sum();
            connection.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
            var deadline = Environment.TickCount64 + 10_000;
            while (manager.GetMetrics().ClosesByReason.Values.Sum() == closes && Environment.TickCount64 < deadline)
                Thread.Sleep(1);
        };
    }

    [Fact]
    public async Task A_connection_that_closes_before_its_dial_takes_it_is_dialed_again_and_the_redial_finds_room_at_the_limit()
    {
        await using var remote = await TestNode.StartAsync(new() { KeepAliveInterval = TimeSpan.Zero });
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 1, KeepAliveInterval = TimeSpan.Zero });
        DropRightAfterHandshake(manager, drops: 1);

        await manager.ConnectAsync(remote.Id, remote.EndPoint);

        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(remote.Id));
        Assert.Equal(2, remote.Listener.AcceptedCount);
        Assert.Equal(1, manager.OpenConnections); // the dropped one gave its place back before the redial opened its own
    }

    [Fact]
    public async Task A_dial_whose_connections_both_close_before_it_takes_them_fails_as_closed_and_holds_nothing()
    {
        await using var remote = await TestNode.StartAsync(new() { KeepAliveInterval = TimeSpan.Zero });
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 1, KeepAliveInterval = TimeSpan.Zero });
        DropRightAfterHandshake(manager, drops: 2);

        var failed = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(remote.Id, remote.EndPoint));

        Assert.Equal(ConnectFailureKind.Closed, failed.Kind);
        Assert.Contains("closed right after its handshake", failed.Message);
        Assert.Equal(2, remote.Listener.AcceptedCount); // one redial, not more
        Assert.Equal(0, manager.OpenConnections);
        await manager.ConnectAsync(remote.Id, remote.EndPoint); // at a limit of one: both places went back
        Assert.Equal(1, manager.OpenConnections);
    }

    [Fact]
    public async Task A_connection_dialed_through_the_host_itself_counts_under_the_limit_and_gives_its_place_back_once()
    {
        // The count is the host's system scope, so a dial around the manager (its Host is public) counts as any
        // connection of this node does (go's too), and its close gives back exactly what its open took: the count never
        // goes below zero (a Debug.Assert in ResourceScope.Release) and the limit holds for it.
        await using var remote = await TestNode.StartAsync(new() { KeepAliveInterval = TimeSpan.Zero });
        await using var other = await TestNode.StartAsync(new() { KeepAliveInterval = TimeSpan.Zero });
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 1, KeepAliveInterval = TimeSpan.Zero });

        var direct = await manager.Host.DialAsync(remote.EndPoint, remote.Id);
        Assert.Equal(1, manager.OpenConnections);
        await Assert.ThrowsAsync<ConnectionLimitReachedException>(() => manager.ConnectAsync(other.Id, other.EndPoint));
        await direct.DisposeAsync();
        await Wait.UntilAsync(() => manager.GetMetrics().ClosesByReason.Values.Sum() == 1, "the manager heard the close");

        Assert.Equal(0, manager.OpenConnections);
        await manager.ConnectAsync(other.Id, other.EndPoint);
        Assert.Equal(1, manager.OpenConnections);
    }
}
