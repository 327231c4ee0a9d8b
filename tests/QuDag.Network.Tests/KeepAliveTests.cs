using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Upgrade;

namespace QuDag.Network.Tests;

/// <summary>Keepalive pings (/ipfs/ping/1.0.0) on a fake clock: the sockets are real, only time is driven by the test.</summary>
public class KeepAliveTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    internal static ConnectionManagerOptions Options(FakeTimeProvider time) =>
        new() { TimeProvider = time, KeepAliveInterval = Interval, KeepAliveTimeout = Timeout };

    /// <summary>Steps the fake clock one check period at a time until <paramref name="done"/>; returns the fake time it took.</summary>
    internal static TimeSpan StepUntil(FakeTimeProvider time, ConnectionManager manager, Func<bool> done, TimeSpan limit)
    {
        var start = time.GetUtcNow();
        while (!done())
        {
            Assert.True(time.GetUtcNow() - start < limit, $"not done within {limit} of fake time");
            time.Advance(manager.KeepAlivePeriod);
        }
        return time.GetUtcNow() - start;
    }

    [Fact]
    public async Task A_live_peer_answers_keepalive_pings_and_stays_connected()
    {
        var time = new FakeTimeProvider();
        await using var remote = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(Options(time));
        await manager.ConnectAsync(remote.Id, remote.EndPoint);

        for (var i = 1; i <= 4; i++)
        {
            time.Advance(Interval + manager.KeepAlivePeriod);
            await Wait.UntilAsync(() => manager.GetMetrics().PingCount >= i, $"keepalive ping {i} answered");
        }

        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(remote.Id));
        Assert.Equal(0, manager.GetMetrics().KeepAliveFailures);
    }

    [Fact]
    public async Task A_half_open_peer_that_never_answers_fails_within_interval_plus_timeout()
    {
        var time = new FakeTimeProvider();
        using var identity = NodeIdentity.Create();
        using var upgrader = new InboundUpgrader(identity);
        var held = new TaskCompletionSource<P2pConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The libp2p upgrade, then silence: no stream is ever answered, like a peer whose process froze mid-flight.
        await using var raw = new RawPeer(async (socket, ct) => held.TrySetResult(await upgrader.UpgradeAsync(socket, ct)));
        await using var manager = new ConnectionManager(Options(time));
        await manager.ConnectAsync(identity.PeerId, raw.EndPoint);
        var baseline = manager.OpenConnections;

        var failedAfter = StepUntil(time, manager, () => manager.GetMetrics().KeepAliveFailures == 1, TimeSpan.FromMinutes(2));

        Assert.InRange(failedAfter, Interval + Timeout, Interval + Timeout + 2 * manager.KeepAlivePeriod);
        await Wait.UntilAsync(() => manager.OpenConnections == baseline - 1, "the dead connection's socket closed");
        var peer = manager.GetPeer(identity.PeerId)!;
        Assert.Equal(ConnectionStatus.Failed, peer.Status);
        Assert.Contains("keepalive", peer.LastError);
        Assert.Equal(CloseReason.KeepAliveFailed, peer.CloseReason);
        Assert.Equal(1, manager.GetMetrics().ClosesByReason[CloseReason.KeepAliveFailed]);
        await (await held.Task).DisposeAsync();
    }

    [Fact]
    public async Task A_peer_whose_ping_handler_never_echoes_fails_within_interval_plus_timeout()
    {
        var time = new FakeTimeProvider();
        await using var deaf = await Libp2pPeer.StartAsync();
        deaf.NeverAnswerPings(); // it negotiates /ipfs/ping/1.0.0, reads the payload and never echoes it
        await using var manager = new ConnectionManager(Options(time));
        await manager.ConnectAsync(deaf.Id, deaf.EndPoint);

        var failedAfter = StepUntil(time, manager, () => manager.GetMetrics().KeepAliveFailures == 1, TimeSpan.FromMinutes(2));

        Assert.InRange(failedAfter, Interval + Timeout, Interval + Timeout + 2 * manager.KeepAlivePeriod);
        // The socket's place goes back when the session ends, before the manager hears of it: wait for both.
        await Wait.UntilAsync(() => manager.OpenConnections == 0 && manager.GetPeer(deaf.Id)?.Status == ConnectionStatus.Failed,
            "the dead connection's socket closed and the peer failed");
        var peer = manager.GetPeer(deaf.Id)!;
        Assert.Equal(ConnectionStatus.Failed, peer.Status);
        Assert.Contains("keepalive: no answer to a ping within 20 s", peer.LastError);
    }

    [Fact]
    public async Task A_pooled_connection_whose_peer_went_silent_is_dropped_from_the_pool()
    {
        var time = new FakeTimeProvider();
        await using var deaf = await Libp2pPeer.StartAsync();
        deaf.NeverAnswerPings();
        await using var manager = new ConnectionManager(Options(time));
        await manager.ConnectAsync(deaf.Id, deaf.EndPoint);
        await manager.DisconnectAsync(deaf.Id);
        Assert.Single(manager.GetPooledConnections());

        StepUntil(time, manager, () => manager.GetMetrics().KeepAliveFailures == 1, TimeSpan.FromMinutes(2));

        await Wait.UntilAsync(() => manager.OpenConnections == 0 && manager.GetPooledConnections().Count == 0, "the pool dropped it");
    }

    [Fact]
    public async Task Keepalive_off_sends_no_pings()
    {
        var time = new FakeTimeProvider();
        await using var remote = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { TimeProvider = time, KeepAliveInterval = TimeSpan.Zero });
        await manager.ConnectAsync(remote.Id, remote.EndPoint);
        time.Advance(TimeSpan.FromMinutes(10));
        // A keepalive ping due now would hold the connection's one ping stream first and be counted before this one.
        await manager.PingAsync(remote.Id);
        Assert.Equal(1, manager.GetMetrics().PingCount);
    }
}
