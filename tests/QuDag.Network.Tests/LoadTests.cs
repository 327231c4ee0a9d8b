using System.Buffers.Binary;
using Xunit.Abstractions;

namespace QuDag.Network.Tests;

/// <summary>Load and hostile traffic: a connect storm, a flooding peer, disposal in the middle of everything.</summary>
public class LoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_connect_storm_of_500_against_a_limit_of_100_never_overshoots_and_leaks_nothing()
    {
        await using var peers = await PeerProcess.StartAsync(500); // remote ends in their own process: our fds are ours alone
        var baseline = Wait.OpenSockets();
        int maxOpen = 0, maxSockets = 0, countSamples = 0, socketSamples = 0;
        string[] results;
        await using (var manager = new ConnectionManager(100))
        {
            using var stop = new CancellationTokenSource();
            // Two samplers: the count is cheap to read in a tight loop; listing /proc/self/fd takes about a millisecond.
            var counts = Task.Run(() =>
            {
                for (; !stop.IsCancellationRequested; countSamples++)
                    maxOpen = Math.Max(maxOpen, manager.OpenConnections);
            });
            var sockets = Task.Run(() =>
            {
                for (; !stop.IsCancellationRequested; socketSamples++)
                    maxSockets = Math.Max(maxSockets, Wait.OpenSockets() - baseline);
            });
            results = await Task.WhenAll(peers.Peers.Select(async p =>
            {
                try
                {
                    await manager.ConnectAsync(p.Id, p.EndPoint);
                    return "connected";
                }
                catch (ConnectionLimitReachedException)
                {
                    return "limit";
                }
            }));
            stop.Cancel();
            await Task.WhenAll(counts, sockets);
            Assert.Equal(100, manager.OpenConnections);
        }
        output.WriteLine($"during the storm: at most {maxOpen} open in {countSamples} count samples, at most {maxSockets} sockets in {socketSamples} /proc/self/fd samples");

        Assert.Equal(100, results.Count(r => r == "connected"));
        Assert.Equal(400, results.Count(r => r == "limit"));
        Assert.InRange(maxOpen, 1, 100);
        Assert.InRange(maxSockets, 1, 100);
        await Wait.UntilAsync(() => Wait.OpenSockets() == baseline, "every socket closed after disposal");
    }

    [Fact]
    public async Task A_flooding_peer_is_held_back_by_backpressure_and_loses_nothing()
    {
        const int size = 64 * 1024, total = 2_000; // 125 MiB offered
        await using var receiver = await TestNode.StartAsync(new ConnectionManagerOptions { ReceiveQueueCapacity = 16 });
        await using var flooder = new ConnectionManager(10);
        await flooder.ConnectAsync(receiver.Id, receiver.EndPoint);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var sent = 0;
        var flood = Task.Run(async () =>
        {
            var payload = new byte[size];
            for (var i = 0; i < total; i++)
            {
                BinaryPrimitives.WriteInt32BigEndian(payload, i);
                await flooder.SendAsync(receiver.Id, payload);
                Volatile.Write(ref sent, i + 1);
            }
        });

        // Nobody receives: a bounded receive side must stop the flood, whatever time it is given. Stopped means the
        // receiver's read loop waits for room in its full queue and the flooder's send waits for window credit that
        // only a read can grant; the figures below are then bounds, not how far a slow machine got.
        await Wait.UntilAsync(() => receiver.Manager.DeliveriesWaitingForRoom == 1 && flooder.SendWaitsForCredit(receiver.Id),
            "the flood held back: the receiver's reader waits for room, the flooder for credit");
        Assert.False(flood.IsCompleted);
        var held = GC.GetTotalMemory(forceFullCollection: true) - before;
        var stalledAt = Volatile.Read(ref sent);
        output.WriteLine($"flood stalled after {stalledAt} of {total} messages ({stalledAt * (long)size >> 20} MiB); managed memory held: {held >> 10} KiB; queued: {receiver.Manager.GetMetrics().MessagesReceived}");
        Assert.InRange(held, long.MinValue, 16L << 20);
        Assert.InRange(receiver.Manager.GetMetrics().MessagesReceived, 16, 17);
        Assert.True(stalledAt < total / 4, $"the flood went on to {stalledAt}");

        for (var i = 0; i < total; i++)
        {
            var message = await receiver.Manager.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(i, BinaryPrimitives.ReadInt32BigEndian(message.Payload.Span));
        }
        await flood.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(total, receiver.Manager.GetMetrics().MessagesReceived);
    }

    [Fact]
    public async Task Disposing_during_connects_sends_pings_and_receives_ends_each_and_closes_everything()
    {
        var baseline = Wait.OpenSockets();
        var silent = new RawPeer((socket, ct) => Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, TaskScheduler.Default)); // never speaks multistream
        var deaf = await Libp2pPeer.StartAsync(); // upgrades, then never reads a message nor echoes a ping
        deaf.NeverReadMessages();
        deaf.NeverAnswerPings();
        var deafId = deaf.Id;
        var manager = new ConnectionManager(new ConnectionManagerOptions { ConnectTimeout = TimeSpan.FromMinutes(5) });
        await manager.ConnectAsync(deafId, deaf.EndPoint);

        var connects = Enumerable.Range(0, 5).Select(_ => manager.ConnectAsync(NodeIdentity.Create().PeerId, silent.EndPoint)).ToArray();
        var sends = Task.Run(async () =>
        {
            var big = new byte[256 * 1024];
            while (true)
                await manager.SendAsync(deafId, big);
        });
        var ping = manager.PingAsync(deafId);
        var receive = manager.ReceiveAsync().AsTask();
        await Wait.UntilAsync(() => manager.OpenConnections == 6, "five connects hang in the multistream negotiation");

        await manager.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        var operations = connects.Append(sends).Append(ping).Append(receive).ToArray();
        foreach (var operation in operations)
        {
            var error = await Record.ExceptionAsync(() => operation.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.True(error is ObjectDisposedException or OperationCanceledException, $"ended with {error}");
        }
        Assert.Equal(0, manager.OpenConnections);
        await silent.DisposeAsync();
        await deaf.DisposeAsync();
        await Wait.UntilAsync(() => Wait.OpenSockets() == baseline, "every socket closed");
    }
}
