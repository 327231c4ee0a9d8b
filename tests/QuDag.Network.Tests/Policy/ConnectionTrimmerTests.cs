namespace QuDag.Network.Tests.Policy;

/// <summary>
/// The watermarks over real loopback connections, on a fake clock that moves only when a test says so (and only once
/// the trimmer's timer exists): above the high watermark past the grace period the lowest-value connections close
/// until the low watermark remains, protected peers never, at most once per silence period; an explicit trim; and the
/// opt-in trim of one connection for a dial at the hard cap.
/// </summary>
public sealed class ConnectionTrimmerTests
{
    private static readonly TimeSpan Silence = TimeSpan.FromSeconds(7); // no other timer of the manager is due at 7 s

    private static ConnectionManagerOptions Options(TimerWatchingTimeProvider time, int low, int high, TimeSpan grace) => new()
    {
        TimeProvider = time,
        KeepAliveInterval = TimeSpan.Zero, // a jumping fake clock would ping every connection
        LowWater = low,
        HighWater = high,
        GracePeriod = grace,
        SilencePeriod = Silence,
    };

    private static async Task<TestNode[]> NodesAsync(int count) => await Task.WhenAll(Enumerable.Range(0, count).Select(_ => TestNode.StartAsync()));

    private static async Task DisposeAllAsync(IEnumerable<TestNode> nodes) => await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));

    private static async Task WaitForTimerAsync(TimerWatchingTimeProvider time) =>
        await Wait.UntilAsync(() => time.TimersCreated(Silence) >= 1, "the trimmer's timer");

    [Fact]
    public async Task Past_the_grace_period_the_lowest_value_connections_close_until_the_low_watermark_and_protected_peers_stay()
    {
        var time = new TimerWatchingTimeProvider();
        var nodes = await NodesAsync(5);
        try
        {
            await using var hub = new ConnectionManager(Options(time, low: 2, high: 3, grace: TimeSpan.FromSeconds(30)));
            int[] values = [1, 5, 0, 10, 0];
            for (int i = 0; i < nodes.Length; i++)
            {
                if (values[i] != 0)
                    hub.TagPeer(nodes[i].Id, "useful", values[i]);
            }
            hub.Protect(nodes[4].Id, "bootstrap");
            var closes = new System.Collections.Concurrent.ConcurrentQueue<ConnectionStatusChangedEventArgs>();
            hub.StatusChanged += (_, e) => { if (e.CloseReason is not null) closes.Enqueue(e); };
            foreach (var node in nodes)
                await hub.ConnectAsync(node.Id, node.EndPoint);

            // All five are in their grace period: five over a high watermark of three, and nothing closes.
            Assert.Equal(5, hub.OpenConnections);
            Assert.All(nodes, n => Assert.Equal(ConnectionStatus.Connected, hub.GetStatusAsync(n.Id).Result));
            await WaitForTimerAsync(time);
            time.Advance(TimeSpan.FromSeconds(28)); // the timer's ticks at 7, 14, 21, 28 s: all still in grace
            Assert.Equal(5, hub.GetPeers().Count(p => p.Status == ConnectionStatus.Connected));

            time.Advance(TimeSpan.FromSeconds(7)); // 35 s: past the grace period at the timer's fifth tick
            await Wait.UntilAsync(() => hub.OpenConnections == 2, "trimmed to the low watermark");
            // Lowest value first: 0 (node 2), 1 (node 0), 5 (node 1); node 3 (10) and the protected node 4 stay.
            Assert.Equal(ConnectionStatus.Connected, await hub.GetStatusAsync(nodes[3].Id));
            Assert.Equal(ConnectionStatus.Connected, await hub.GetStatusAsync(nodes[4].Id));
            foreach (var i in new[] { 0, 1, 2 })
            {
                var info = hub.GetPeer(nodes[i].Id)!;
                Assert.Equal(ConnectionStatus.Disconnected, info.Status);
                Assert.Equal(CloseReason.Trimmed, info.CloseReason);
                Assert.Equal(time.GetUtcNow(), info.ClosedAt);
                await Wait.UntilAsync(() => nodes[i].Manager.OpenConnections == 0, "the remote end closed too");
            }
            Assert.Equal(3, closes.Count(e => e.CloseReason == CloseReason.Trimmed));
            Assert.Equal(3, hub.GetMetrics().ClosesByReason[CloseReason.Trimmed]);
            Assert.Contains(hub.GetRecentEvents(), e => e.CloseReason == CloseReason.Trimmed && e.PeerId == nodes[2].Id);
            Assert.True(hub.GetPeer(nodes[4].Id)!.Protected);
            Assert.Equal(10, hub.GetPeer(nodes[3].Id)!.Value);
        }
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [Fact]
    public async Task A_trim_runs_at_most_once_per_silence_period_and_an_explicit_trim_ignores_it()
    {
        var time = new TimerWatchingTimeProvider();
        var nodes = await NodesAsync(6);
        try
        {
            await using var hub = new ConnectionManager(Options(time, low: 1, high: 2, grace: TimeSpan.Zero));
            for (int i = 0; i < 3; i++)
                await hub.ConnectAsync(nodes[i].Id, nodes[i].EndPoint);
            // The third connection crossed the high watermark: trimmed at once (no trim ran before) down to one.
            await Wait.UntilAsync(() => hub.OpenConnections == 1, "the first trim");
            var firstTrim = hub.LastTrim;
            Assert.Equal(time.GetUtcNow(), firstTrim);

            await WaitForTimerAsync(time);
            time.Advance(TimeSpan.FromSeconds(1)); // within the silence period, before the timer's tick
            for (int i = 3; i < 5; i++)
                await hub.ConnectAsync(nodes[i].Id, nodes[i].EndPoint);
            // Three again, but within the silence period: a trim starts on the open itself (it stamps LastTrim before
            // it closes anything), and none did.
            Assert.Equal(firstTrim, hub.LastTrim);
            Assert.Equal(3, hub.OpenConnections);

            time.Advance(Silence - TimeSpan.FromSeconds(1)); // the timer's tick, a silence period after the first trim
            await Wait.UntilAsync(() => hub.OpenConnections == 1, "the second trim, a silence period later");

            await hub.ConnectAsync(nodes[5].Id, nodes[5].EndPoint); // two: not over the high watermark
            Assert.Equal(1, await hub.TrimAsync()); // explicit: down to the low watermark, silence or not
            Assert.Equal(1, hub.OpenConnections);
            Assert.NotNull(hub.LastTrim);
        }
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [Fact]
    public async Task Protection_holds_while_any_of_its_tags_does_and_a_decayed_value_ranks_lower()
    {
        var time = new TimerWatchingTimeProvider();
        var nodes = await NodesAsync(3);
        try
        {
            await using var hub = new ConnectionManager(Options(time, low: 1, high: 10, grace: TimeSpan.Zero));
            foreach (var node in nodes)
                await hub.ConnectAsync(node.Id, node.EndPoint);
            hub.Protect(nodes[0].Id, "a");
            hub.Protect(nodes[0].Id, "b");
            Assert.True(hub.Unprotect(nodes[0].Id, "a")); // still protected by "b"
            hub.TagPeer(nodes[1].Id, "recent", 100, TimeSpan.FromSeconds(10));
            hub.TagPeer(nodes[2].Id, "steady", 20);
            time.Advance(TimeSpan.FromSeconds(9)); // node 1's 100 has decayed to 10: below node 2's 20

            Assert.Equal(2, await hub.TrimAsync()); // two over the low watermark of one, the protected one aside
            Assert.Equal(ConnectionStatus.Connected, await hub.GetStatusAsync(nodes[0].Id));
            Assert.Equal(CloseReason.Trimmed, hub.GetPeer(nodes[1].Id)!.CloseReason);
            Assert.Equal(CloseReason.Trimmed, hub.GetPeer(nodes[2].Id)!.CloseReason);
            Assert.Equal(hub.GetPeer(nodes[1].Id)!.ClosedAt, hub.GetPeer(nodes[2].Id)!.ClosedAt);

            Assert.False(hub.Unprotect(nodes[0].Id, "b"));
            Assert.Equal(0, await hub.TrimAsync()); // one open: at the low watermark already
        }
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [Fact]
    public async Task Watermarks_set_live_start_the_trimmer_and_it_obeys_them()
    {
        var time = new TimerWatchingTimeProvider();
        var nodes = await NodesAsync(3);
        try
        {
            await using var hub = new ConnectionManager(Options(time, low: 0, high: 0, grace: TimeSpan.Zero));
            foreach (var node in nodes)
                await hub.ConnectAsync(node.Id, node.EndPoint);
            Assert.Equal(0, time.TimersCreated(Silence)); // off: no timer at all
            Assert.Equal(0, await hub.TrimAsync());

            hub.Reconfigure(o => { o.LowWater = 1; o.HighWater = 2; });
            await WaitForTimerAsync(time);
            time.Advance(Silence);
            await Wait.UntilAsync(() => hub.OpenConnections == 1, "trimmed once the watermarks were set");
        }
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [Fact]
    public async Task At_the_hard_cap_a_dial_trims_the_lowest_value_unprotected_connection_only_when_asked_to()
    {
        var time = new TimerWatchingTimeProvider();
        var nodes = await NodesAsync(3);
        try
        {
            var options = Options(time, low: 0, high: 0, grace: TimeSpan.FromSeconds(5));
            options.MaxConnections = 2;
            await using var hub = new ConnectionManager(options);
            await hub.ConnectAsync(nodes[0].Id, nodes[0].EndPoint);
            await hub.ConnectAsync(nodes[1].Id, nodes[1].EndPoint);
            hub.TagPeer(nodes[0].Id, "useful", 1);
            hub.TagPeer(nodes[1].Id, "useful", 5);

            // Off by default: the typed limit error, nothing closed.
            await Assert.ThrowsAsync<ConnectionLimitReachedException>(() => hub.ConnectAsync(nodes[2].Id, nodes[2].EndPoint));
            hub.Reconfigure(o => o.TrimAtLimit = true);
            // On, but both are in their grace period: nothing may be trimmed.
            await Assert.ThrowsAsync<ConnectionLimitReachedException>(() => hub.ConnectAsync(nodes[2].Id, nodes[2].EndPoint));
            time.Advance(TimeSpan.FromSeconds(5));
            await hub.ConnectAsync(nodes[2].Id, nodes[2].EndPoint);
            Assert.Equal(CloseReason.Trimmed, hub.GetPeer(nodes[0].Id)!.CloseReason);
            Assert.Equal(ConnectionStatus.Connected, await hub.GetStatusAsync(nodes[1].Id));
            Assert.Equal(2, hub.OpenConnections);

            // Every remaining connection protected: the dial fails as before.
            hub.Protect(nodes[1].Id, "keep");
            hub.Protect(nodes[2].Id, "keep");
            await Assert.ThrowsAsync<ConnectionLimitReachedException>(() => hub.ConnectAsync(nodes[0].Id, nodes[0].EndPoint));
        }
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }
}
