namespace QuDag.Network.Tests;

public class EventTests
{
    [Fact]
    public async Task StatusChanged_reports_each_real_transition_in_order()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        var events = new List<ConnectionStatusChangedEventArgs>();
        manager.StatusChanged += (sender, e) =>
        {
            Assert.Same(manager, sender);
            lock (events) events.Add(e);
        };

        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        await manager.DisconnectAsync(peer.Id);
        await manager.ConnectAsync(peer.Id);

        Assert.Equal(
            [(null, ConnectionStatus.Connecting), (ConnectionStatus.Connecting, ConnectionStatus.Connected),
             (ConnectionStatus.Connected, ConnectionStatus.Disconnected), (ConnectionStatus.Disconnected, ConnectionStatus.Connected)],
            events.Select(e => (e.OldStatus, e.NewStatus)).ToArray());
        Assert.All(events, e => Assert.Equal(peer.Id, e.PeerId));
    }

    [Fact]
    public async Task A_per_peer_subscription_sees_only_its_peer_until_disposed()
    {
        await using var manager = new ConnectionManager(10);
        var watched = Ids.Unheld();
        var other = Ids.Unheld();
        var seen = new List<ConnectionStatus>();
        var subscription = manager.Subscribe(watched, e => seen.Add(e.NewStatus));
        using var second = manager.Subscribe(watched, e => seen.Add(e.NewStatus));

        await manager.UpdateStatusAsync(watched, ConnectionStatus.Connecting);
        await manager.UpdateStatusAsync(other, ConnectionStatus.Failed);
        subscription.Dispose();
        subscription.Dispose();
        await manager.UpdateStatusAsync(watched, ConnectionStatus.Failed);

        Assert.Equal([ConnectionStatus.Connecting, ConnectionStatus.Connecting, ConnectionStatus.Failed], seen);
        Assert.Null(await manager.GetStatusAsync(Ids.Unheld()));
    }

    [Fact]
    public async Task A_throwing_handler_does_not_break_the_manager_or_other_handlers()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        var calls = 0;
        manager.StatusChanged += (_, _) => throw new InvalidOperationException("faulty subscriber");
        manager.StatusChanged += (_, _) => Interlocked.Increment(ref calls);

        await manager.ConnectAsync(peer.Id, peer.EndPoint);

        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(peer.Id));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task The_remote_closing_an_active_connection_turns_it_disconnected()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        await Wait.UntilConnectedAsync(peer.Manager, manager.LocalPeerId);

        var change = await Wait.ForStatusAsync(manager, peer.Id, ConnectionStatus.Disconnected,
            () => peer.Manager.DisconnectAsync(manager.LocalPeerId, close: true));

        Assert.Equal("the remote closed the connection", change.Reason); // its yamux GoAway, then the close
        Assert.Equal(0, manager.OpenConnections);
        Assert.Equal(0, (await manager.GetMetricsAsync()).Connections);
    }
}
