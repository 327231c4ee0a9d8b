using System.Net.Security;
using Microsoft.Extensions.Time.Testing;

namespace QuDag.Network.Tests;

/// <summary>Keepalive PINGs on a fake clock: the sockets are real, only time is driven by the test.</summary>
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
        var held = new TaskCompletionSource<SslStream>(TaskCreationOptions.RunContinuationsAsynchronously);
        // TLS and HELLO, then silence: it never reads again, like a peer whose host vanished without a FIN.
        await using var raw = new RawPeer(async (socket, ct) => held.TrySetResult(await RawPeer.ServeQuDagAsync(socket, identity, ct)));
        await using var manager = new ConnectionManager(Options(time));
        await manager.ConnectAsync(identity.PeerId, raw.EndPoint);
        var baseline = manager.OpenConnections;

        var failedAfter = StepUntil(time, manager, () => manager.GetMetrics().KeepAliveFailures == 1, TimeSpan.FromMinutes(2));

        Assert.InRange(failedAfter, Interval + Timeout, Interval + Timeout + 2 * manager.KeepAlivePeriod);
        await Wait.UntilAsync(() => manager.OpenConnections == baseline - 1, "the dead connection's socket closed");
        var peer = manager.GetPeer(identity.PeerId)!;
        Assert.Equal(ConnectionStatus.Failed, peer.Status);
        Assert.Contains("keepalive", peer.LastError);
        (await held.Task).Dispose();
    }

    [Fact]
    public async Task A_pooled_connection_whose_peer_went_silent_is_dropped_from_the_pool()
    {
        var time = new FakeTimeProvider();
        using var identity = NodeIdentity.Create();
        await using var raw = new RawPeer(async (socket, ct) => await RawPeer.ServeQuDagAsync(socket, identity, ct));
        await using var manager = new ConnectionManager(Options(time));
        await manager.ConnectAsync(identity.PeerId, raw.EndPoint);
        await manager.DisconnectAsync(identity.PeerId);
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
        // A PING sent now would be answered before this one: the connection is ordered.
        await manager.PingAsync(remote.Id);
        Assert.Equal(1, manager.GetMetrics().PingCount);
    }
}
