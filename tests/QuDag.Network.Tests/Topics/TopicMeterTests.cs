using System.Diagnostics.Metrics;

namespace QuDag.Network.Tests.Topics;

/// <summary>Gossip's figures on the QuDag.Network meter, read as any listener (dotnet-counters, OpenTelemetry) reads them.</summary>
public sealed class TopicMeterTests
{
    private const string Topic = "qudag/meter";

    [Fact]
    public async Task Mesh_subscribers_messages_and_delivery_latency_are_published_per_topic()
    {
        var options = new ConnectionManagerOptions { KeepAliveInterval = TimeSpan.Zero };
        await using var a = await TestNode.StartAsync(options);
        await using var b = await TestNode.StartAsync(new ConnectionManagerOptions { KeepAliveInterval = TimeSpan.Zero });
        a.Manager.SubscribeTopic(Topic);
        b.Manager.SubscribeTopic(Topic);
        await a.Manager.ConnectAsync(b.Id, b.EndPoint);
        await Wait.UntilAsync(() => a.Manager.GetTopic(Topic)?.MeshPeers.Count == 1 && b.Manager.GetTopic(Topic)?.MeshPeers.Count == 1, "a mesh of two");

        var observed = new List<(string Name, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        string node = b.Id.ToString();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "QuDag.Network" && instrument.Name.StartsWith("qudag.gossip.", StringComparison.Ordinal)
                && instrument.Meter.Tags?.Any(t => t.Key == "qudag.peer.id" && (string?)t.Value == node) == true)
                l.EnableMeasurementEvents(instrument);
        };
        void Add(Instrument i, double v, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (observed)
                observed.Add((i.Name, v, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
        }
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        listener.Start();

        for (int i = 0; i < 5; i++)
            a.Manager.PublishTopic(Topic, new byte[] { (byte)i });
        for (int i = 0; i < 5; i++)
            await b.Manager.ReceiveTopicAsync(Topic);
        b.Manager.PublishTopic(Topic, "back"u8.ToArray());
        listener.RecordObservableInstruments();

        lock (observed)
        {
            Assert.Contains(observed, o => o.Name == "qudag.gossip.mesh.peers" && o.Value == 1 && (string?)o.Tags["topic"] == Topic);
            Assert.Contains(observed, o => o.Name == "qudag.gossip.subscribers" && o.Value == 1);
            Assert.Contains(observed, o => o.Name == "qudag.gossip.messages" && (string?)o.Tags["kind"] == "received" && o.Value == 5);
            Assert.Contains(observed, o => o.Name == "qudag.gossip.messages" && (string?)o.Tags["kind"] == "published" && o.Value == 1);
            Assert.Equal(5, observed.Count(o => o.Name == "qudag.gossip.delivery.duration" && o.Value > 0 && o.Value < 10));
        }
    }
}
