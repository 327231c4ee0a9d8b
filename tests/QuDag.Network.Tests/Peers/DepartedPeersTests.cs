using QuDag.P2p.Host;

namespace QuDag.Network.Tests.Peers;

/// <summary>The peer table against remotes that connect with ever fresh ids and leave: it forgets them beyond a bound.</summary>
public sealed class DepartedPeersTests
{
    [Fact]
    public async Task Inbound_peers_with_fresh_ids_that_connect_and_leave_keep_the_table_bounded()
    {
        const int kept = 3, visitors = 12;
        await using var node = await TestNode.StartAsync(new ConnectionManagerOptions { MaxDisconnectedInboundPeers = kept });
        var manager = node.Manager;

        // A peer the API named stays, whatever comes after it.
        await using var named = new P2pHost();
        manager.SetAutoReconnect(named.LocalPeerId, false);
        await VisitAsync(manager, node, named);

        var ids = new List<PeerId>();
        for (int i = 0; i < visitors; i++)
        {
            await using var visitor = new P2pHost();
            ids.Add(visitor.LocalPeerId);
            await VisitAsync(manager, node, visitor);
            // The close that queues the visitor runs just after its status changed: wait for it, bounded.
            await Wait.UntilAsync(() => manager.GetPeers().Count <= kept + 1, $"at most {kept + 1} peers after {i + 1} visits");
        }

        Assert.Equal(kept + 1, manager.GetPeers().Count);
        Assert.Equal(kept + 1, manager.GetMetrics().TrackedPeers);
        // The latest to leave are still listed as they left, with what they said of themselves; the earlier ones are not.
        foreach (var id in ids[^kept..])
        {
            Assert.Equal(ConnectionStatus.Disconnected, await manager.GetStatusAsync(id));
            Assert.NotNull(manager.GetPeer(id)!.AgentVersion);
        }
        foreach (var id in ids[..^kept])
            Assert.Null(await manager.GetStatusAsync(id));
        Assert.Equal(ConnectionStatus.Disconnected, await manager.GetStatusAsync(named.LocalPeerId));
    }

    [Fact]
    public async Task A_forgotten_peer_that_comes_back_is_tracked_afresh()
    {
        await using var node = await TestNode.StartAsync(new ConnectionManagerOptions { MaxDisconnectedInboundPeers = 0 });
        var manager = node.Manager;
        await using var visitor = new P2pHost();

        await VisitAsync(manager, node, visitor);
        await Wait.UntilAsync(() => manager.GetStatusAsync(visitor.LocalPeerId).Result is null, "the departed peer was forgotten");
        Assert.Empty(manager.GetPeers());

        await using var connection = await visitor.DialAsync(node.EndPoint, node.Id);
        await Wait.UntilConnectedAsync(manager, visitor.LocalPeerId);
        Assert.Single(manager.GetPeers());
        // Named now: it stays after it leaves.
        using var subscription = manager.Subscribe(visitor.LocalPeerId, _ => { });
        await connection.DisposeAsync();
        await Wait.UntilAsync(() => manager.GetStatusAsync(visitor.LocalPeerId).Result == ConnectionStatus.Disconnected, "the peer left");
        Assert.Single(manager.GetPeers());
    }

    [Fact]
    public void The_longest_gone_are_forgotten_first_a_busy_one_is_asked_again_later_and_named_ones_are_never_queued()
    {
        var busy = new HashSet<PeerEntry>();
        var forgotten = new List<PeerEntry>();
        var departed = new DepartedPeers(2, entry =>
        {
            if (busy.Contains(entry))
                return ForgetOutcome.Busy;
            forgotten.Add(entry);
            return ForgetOutcome.Forgotten;
        });
        var a = new PeerEntry(Ids.Unheld());
        var b = new PeerEntry(Ids.Unheld());
        var c = new PeerEntry(Ids.Unheld());
        var d = new PeerEntry(Ids.Unheld());
        var named = new PeerEntry(Ids.Unheld());
        Assert.True(named.TryName());

        departed.Add(a);
        departed.Add(a); // queued once
        departed.Add(named);
        departed.Add(b);
        Assert.Equal(2, departed.Count);
        Assert.Empty(forgotten);

        busy.Add(a);
        departed.Add(c); // a is busy (asked again later), b goes
        Assert.Equal([b], forgotten);
        Assert.Equal(2, departed.Count);

        busy.Clear();
        departed.Add(d); // c; a was requeued behind it
        Assert.Equal([b, c], forgotten);
        departed.Add(new PeerEntry(Ids.Unheld()));
        Assert.Equal([b, c, a], forgotten);
        Assert.Equal(2, departed.Count);
    }

    /// <summary>Connects <paramref name="visitor"/> to the node, waits until the node has adopted and identified it, then leaves.</summary>
    private static async Task VisitAsync(ConnectionManager manager, TestNode node, P2pHost visitor)
    {
        var connection = await visitor.DialAsync(node.EndPoint, node.Id);
        await Wait.UntilAsync(() => manager.GetPeer(visitor.LocalPeerId) is { Status: ConnectionStatus.Connected, AgentVersion: not null },
            "the node adopted and identified the visitor");
        await connection.DisposeAsync();
        await Wait.UntilAsync(() => manager.GetStatusAsync(visitor.LocalPeerId).Result is null or ConnectionStatus.Disconnected, "the node saw it leave");
    }
}
