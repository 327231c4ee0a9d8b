using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace QuDag.Network.Tests;

/// <summary>Peers in another process that is killed or frozen mid-session.</summary>
public class PeerProcessTests(ITestOutputHelper output)
{
    private static Task<ConnectionStatusChangedEventArgs> LostAsync(ConnectionManager manager, PeerId peer)
    {
        var lost = new TaskCompletionSource<ConnectionStatusChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = manager.Subscribe(peer, e =>
        {
            if (e.NewStatus is ConnectionStatus.Failed or ConnectionStatus.Disconnected)
                lost.TrySetResult(e);
        });
        return lost.Task.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(t =>
        {
            subscription.Dispose();
            return t.Result;
        }, TaskScheduler.Default);
    }

    [Fact]
    public async Task A_killed_peer_process_is_seen_at_once_and_other_peers_are_untouched()
    {
        await using var process = await PeerProcess.StartAsync();
        await using var other = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        var (id, endPoint) = process.Peers[0];
        await manager.ConnectAsync(id, endPoint);
        await manager.ConnectAsync(other.Id, other.EndPoint);
        await manager.PingAsync(id);

        var lost = LostAsync(manager, id);
        var clock = Stopwatch.StartNew();
        await process.KillAsync();
        var change = await lost;
        output.WriteLine($"killed peer seen as {change.NewStatus} after {clock.Elapsed.TotalMilliseconds:0.0} ms: {change.Reason}");

        await Wait.UntilAsync(() => manager.OpenConnections == 1, "only the other peer's socket is left");
        Assert.Equal(ConnectionStatus.Connected, await manager.GetStatusAsync(other.Id));
        await manager.PingAsync(other.Id);
        await manager.SendAsync(other.Id, new byte[] { 1, 2, 3 });
        Assert.Equal(new byte[] { 1, 2, 3 }, (await other.Manager.ReceiveAsync()).Payload);
        await Assert.ThrowsAsync<PeerNotConnectedException>(() => manager.PingAsync(id));
    }

    [Fact]
    public async Task A_killed_peers_pooled_connection_is_dropped_never_handed_out()
    {
        await using var process = await PeerProcess.StartAsync();
        await using var manager = new ConnectionManager(10);
        var (id, endPoint) = process.Peers[0];
        await manager.ConnectAsync(id, endPoint);
        await manager.DisconnectAsync(id);
        Assert.Single(manager.GetPooledConnections());

        await process.KillAsync();

        await Wait.UntilAsync(() => manager.OpenConnections == 0 && manager.GetPooledConnections().Count == 0, "the pool dropped the dead connection");
        var error = await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(id));
        Assert.Equal(ConnectFailureKind.Unreachable, error.Kind);
        Assert.Equal(0, manager.GetMetrics().PoolHits);
    }

    [Fact]
    public async Task A_frozen_peer_process_is_failed_by_keepalive_within_its_bound()
    {
        var time = new FakeTimeProvider();
        await using var process = await PeerProcess.StartAsync();
        await using var manager = new ConnectionManager(KeepAliveTests.Options(time));
        var (id, endPoint) = process.Peers[0];
        await manager.ConnectAsync(id, endPoint);

        process.Freeze(); // SIGSTOP: its kernel still acknowledges TCP, the peer answers nothing
        var after = KeepAliveTests.StepUntil(time, manager, () => manager.GetMetrics().KeepAliveFailures == 1, TimeSpan.FromMinutes(2));
        output.WriteLine($"frozen peer failed after {after.TotalSeconds} s of (fake) keepalive time");

        var opts = manager.Options;
        Assert.InRange(after, opts.KeepAliveInterval + opts.KeepAliveTimeout, opts.KeepAliveInterval + opts.KeepAliveTimeout + 2 * manager.KeepAlivePeriod);
        // The socket's place goes back when the session ends, before the manager hears of it: wait for both.
        await Wait.UntilAsync(() => manager.OpenConnections == 0 && manager.GetPeer(id)?.Status == ConnectionStatus.Failed,
            "the frozen peer's socket closed and the peer failed");
        Assert.Equal(ConnectionStatus.Failed, await manager.GetStatusAsync(id));
    }
}
