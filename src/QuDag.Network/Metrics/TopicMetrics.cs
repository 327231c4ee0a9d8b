using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace QuDag.Network;

/// <summary>A topic's figures as the meter exports them.</summary>
internal readonly record struct TopicFigures(string Topic, int MeshPeers, int Subscribers, long Published, long Received, long Duplicates,
    long Invalid, long Dropped);

/// <summary>
/// Gossip's instruments on the <c>QuDag.Network</c> meter, tagged with the topic: <c>qudag.gossip.mesh.peers</c>,
/// <c>qudag.gossip.subscribers</c>, <c>qudag.gossip.messages{kind}</c> and the histogram
/// <c>qudag.gossip.delivery.duration</c>. Reads its figures through <see cref="Source"/>; calls nobody else.
/// </summary>
internal sealed class TopicMetrics
{
    private static readonly double[] s_bounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private readonly ConcurrentDictionary<string, LatencyHistogram> _latency = new(StringComparer.Ordinal);
    private readonly Histogram<double> _delivery;

    public TopicMetrics(Meter meter)
    {
        meter.CreateObservableUpDownCounter("qudag.gossip.mesh.peers", () => Each(f => f.MeshPeers), "{peer}",
            "Mesh peers of each topic this node subscribes to (fanout peers of a topic it only publishes to).");
        meter.CreateObservableUpDownCounter("qudag.gossip.subscribers", () => Each(f => f.Subscribers), "{peer}",
            "Peers known to subscribe to each topic.");
        meter.CreateObservableCounter("qudag.gossip.messages", ObserveMessages, "{message}",
            "Gossip messages by topic and kind: published, received (new and valid), duplicate, invalid, dropped.");
        _delivery = meter.CreateHistogram("qudag.gossip.delivery.duration", "s",
            "From publish to arrival, for messages published by QuDag.PS nodes (their sequence numbers stamp the time).", null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = s_bounds });
    }

    /// <summary>The figures now; set by the topic service while it runs.</summary>
    public Func<IEnumerable<TopicFigures>>? Source { get; set; }

    /// <summary>Records a delivery latency; one outside 0..1 h (clocks apart, or not a stamp) is not a latency and is left out.</summary>
    public void RecordDelivery(string topic, TimeSpan latency)
    {
        if (latency < TimeSpan.Zero || latency > TimeSpan.FromHours(1))
            return;
        _latency.GetOrAdd(topic, _ => new LatencyHistogram()).Record(latency);
        _delivery.Record(latency.TotalSeconds, new KeyValuePair<string, object?>("topic", topic));
    }

    public LatencyHistogram? Latency(string topic) => _latency.GetValueOrDefault(topic);

    private IEnumerable<Measurement<int>> Each(Func<TopicFigures, int> value) =>
        (Source?.Invoke() ?? []).Select(f => new Measurement<int>(value(f), new KeyValuePair<string, object?>("topic", f.Topic))).ToList();

    private IEnumerable<Measurement<long>> ObserveMessages()
    {
        var list = new List<Measurement<long>>();
        foreach (var f in Source?.Invoke() ?? [])
        {
            Add(f.Topic, "published", f.Published);
            Add(f.Topic, "received", f.Received);
            Add(f.Topic, "duplicate", f.Duplicates);
            Add(f.Topic, "invalid", f.Invalid);
            Add(f.Topic, "dropped", f.Dropped);
        }
        return list;

        void Add(string topic, string kind, long value) =>
            list.Add(new(value, new KeyValuePair<string, object?>("topic", topic), new KeyValuePair<string, object?>("kind", kind)));
    }
}
