using System.Diagnostics.Metrics;
using System.Text;

namespace QuDag.Network.Tests;

public class MessagingTests
{
    [Fact]
    public async Task Messages_sent_arrive_in_order_from_the_authenticated_sender_and_metrics_move()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(peer.Id, peer.EndPoint);

        for (var i = 0; i < 100; i++)
            await manager.SendAsync(peer.Id, Encoding.UTF8.GetBytes($"message {i}"));

        for (var i = 0; i < 100; i++)
        {
            var message = await peer.Manager.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(manager.LocalPeerId, message.PeerId);
            Assert.Equal($"message {i}", Encoding.UTF8.GetString(message.Payload.Span));
        }
        var sent = await manager.GetMetricsAsync();
        var received = await peer.Manager.GetMetricsAsync();
        Assert.Equal(100, sent.MessagesSent);
        Assert.Equal(100, received.MessagesReceived);
        Assert.Equal(received.BytesReceived, sent.BytesSent);
        Assert.True(sent.MessagesPerSecond > 0);
        Assert.True(received.MessagesPerSecond > 0);
        Assert.False(peer.Manager.TryReceive(out _));
    }

    [Fact]
    public async Task Concurrent_first_sends_on_a_fresh_connection_each_arrive_once_and_whole()
    {
        // The send gate is made at the first send: senders racing to be first must still share one gate, or two
        // could write into the message stream at once and interleave their frames.
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(peer.Id, peer.EndPoint);

        var payloads = Enumerable.Range(0, 32).Select(i => $"message {i} " + new string('x', 20_000 + i)).ToArray();
        await Task.WhenAll(payloads.Select(p => Task.Run(async () => await manager.SendAsync(peer.Id, Encoding.UTF8.GetBytes(p)))));

        var received = new List<string>();
        for (var i = 0; i < payloads.Length; i++)
        {
            var message = await peer.Manager.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            received.Add(Encoding.UTF8.GetString(message.Payload.Span));
        }
        Assert.Equal(payloads.Order(StringComparer.Ordinal), received.Order(StringComparer.Ordinal));
        Assert.False(peer.Manager.TryReceive(out _));
    }

    [Fact]
    public async Task Messages_per_second_is_the_growth_over_the_last_ten_seconds()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { TimeProvider = time });
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        for (var i = 0; i < 50; i++)
            await manager.SendAsync(peer.Id, new byte[8]);

        Assert.Equal(50, (await manager.GetMetricsAsync()).MessagesPerSecond); // under a second in: per one second
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(10, (await manager.GetMetricsAsync()).MessagesPerSecond, 6);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, (await manager.GetMetricsAsync()).MessagesPerSecond); // the burst left the window
        Assert.Equal(50, (await manager.GetMetricsAsync()).MessagesSent);
    }

    [Fact]
    public async Task Replies_flow_back_over_the_inbound_connection()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        await manager.SendAsync(peer.Id, "ping?"u8.ToArray());
        var request = await peer.Manager.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        await peer.Manager.SendAsync(request.PeerId, "pong!"u8.ToArray());

        var reply = await manager.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(peer.Id, reply.PeerId);
        Assert.Equal("pong!", Encoding.UTF8.GetString(reply.Payload.Span));
    }

    [Fact]
    public async Task Ping_measures_real_round_trips_and_feeds_latency_metrics()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        Assert.Equal(TimeSpan.Zero, (await manager.GetMetricsAsync()).AvgLatency);

        var rtts = new List<TimeSpan>();
        for (var i = 0; i < 20; i++)
            rtts.Add(await manager.PingAsync(peer.Id));

        var m = await manager.GetMetricsAsync();
        Assert.All(rtts, rtt => Assert.True(rtt > TimeSpan.Zero));
        Assert.Equal(20, m.PingCount);
        Assert.Equal(TimeSpan.FromTicks(rtts.Sum(r => r.Ticks) / rtts.Count), m.AvgLatency);
        Assert.True(m.LatencyP50 > TimeSpan.Zero && m.LatencyP50 <= m.LatencyP95 && m.LatencyP95 <= m.LatencyP99);
        Assert.InRange(m.LatencyP99.Ticks, 1, rtts.Max().Ticks * 11 / 10 + 1);
    }

    [Fact]
    public async Task Sending_to_a_peer_that_is_not_connected_is_a_typed_error()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await Assert.ThrowsAsync<PeerNotConnectedException>(() => manager.SendAsync(peer.Id, new byte[1]));
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        await manager.DisconnectAsync(peer.Id);
        await Assert.ThrowsAsync<PeerNotConnectedException>(() => manager.SendAsync(peer.Id, new byte[1]));
        await Assert.ThrowsAsync<PeerNotConnectedException>(() => manager.PingAsync(peer.Id));
    }

    [Fact]
    public async Task A_message_over_the_maximum_frame_size_is_refused_before_sending()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { MaxFrameSize = 1024 });
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        await Assert.ThrowsAsync<ArgumentException>(() => manager.SendAsync(peer.Id, new byte[1025]));
        await manager.SendAsync(peer.Id, new byte[1024]);
        Assert.Equal(1024, (await peer.Manager.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Payload.Length);
    }

    [Fact]
    public async Task Metrics_are_published_through_the_QuDag_Network_meter()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        var seen = new Dictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Each manager's meter is tagged with its full peer id ("12D3KooW..."); other tests' managers are ignored.
            if (instrument.Meter.Name == "QuDag.Network" && instrument.Meter.Tags?.Any(t => Equals(t.Value, manager.LocalPeerId.ToString())) == true)
                l.EnableMeasurementEvents(instrument);
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var key = instrument.Name + (tags.Length > 0 ? $"[{tags[0].Value}]" : "");
            lock (seen)
                seen[key] = instrument is Histogram<double> ? (seen.GetValueOrDefault(key) + 1) : value;
        }
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        await manager.SendAsync(peer.Id, new byte[10]);
        await manager.PingAsync(peer.Id);
        listener.RecordObservableInstruments();

        Assert.Equal(1, seen["qudag.connections[active]"]);
        Assert.Equal(0, seen["qudag.connections[idle]"]);
        Assert.Equal(10, seen["qudag.connection.max"]);
        Assert.Equal(1, seen["qudag.messages[transmit]"]);
        Assert.Equal(1, seen["qudag.pool.requests[miss]"]);
        Assert.Equal(1, seen["qudag.ping.duration"]);
        Assert.Equal(1, seen["qudag.connection.handshake.duration[outbound]"]);
        Assert.Equal(10, seen["qudag.network.io[transmit]"]);
    }
}
