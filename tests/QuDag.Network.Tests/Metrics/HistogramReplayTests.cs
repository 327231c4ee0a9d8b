using System.Diagnostics.Metrics;

namespace QuDag.Network.Tests.Metrics;

/// <summary>
/// A listener attached after activity is handed the ping and handshake histograms as they stand: the same count per
/// bucket, sum and extremes, then the live measurements; and nothing twice to a listener that was already there.
/// </summary>
public sealed class HistogramReplayTests
{
    // On bucket bounds (0.001 and 0.0025 s close their buckets), between them, and past the last bound (10 s); in ticks,
    // so each is exactly the seconds the histogram records.
    private static readonly double[] Pings = [0.0009, 0.001, 0.001, 0.0012, 0.0025, 0.0004, 12.5];

    private static TimeSpan Exactly(double seconds) => TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));

    [Fact]
    public void A_late_listener_gets_every_bucket_count_the_sum_and_the_extremes()
    {
        using var identity = NodeIdentity.Create();
        using var metrics = new ManagerMetrics(TimeProvider.System, identity.PeerId, () => (0, 0, 1, 0));
        foreach (var seconds in Pings)
            metrics.RecordPing(Exactly(seconds));
        metrics.RecordHandshake(TimeSpan.FromMilliseconds(3), inbound: false);
        metrics.RecordHandshake(TimeSpan.FromMilliseconds(7), inbound: true);
        metrics.RecordHandshake(TimeSpan.FromMilliseconds(9), inbound: true);

        using var late = new Recorder(identity.PeerId);
        metrics.AttachListener(late.Start);

        var pings = late.Values("qudag.ping.duration", null);
        Assert.Equal(Pings.Length, pings.Count);
        Assert.Equal(Pings.Sum(), pings.Sum(), 12);
        Assert.Equal(Pings.Min(), pings.Min());
        Assert.Equal(Pings.Max(), pings.Max());
        double[] bounds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
        foreach (var bound in bounds)
            Assert.Equal(Pings.Count(p => p <= bound), pings.Count(p => p <= bound));
        Assert.Equal([0.003], late.Values("qudag.connection.handshake.duration", "outbound"));
        Assert.Equal([0.007, 0.009], late.Values("qudag.connection.handshake.duration", "inbound").Order());

        // From now on the listener sees measurements as they happen, each once.
        metrics.RecordPing(TimeSpan.FromSeconds(0.002));
        Assert.Equal(Pings.Length + 1, late.Values("qudag.ping.duration", null).Count);
    }

    [Fact]
    public void A_listener_already_receiving_is_not_handed_anything_twice()
    {
        using var identity = NodeIdentity.Create();
        using var metrics = new ManagerMetrics(TimeProvider.System, identity.PeerId, () => (0, 0, 1, 0));
        using var first = new Recorder(identity.PeerId);
        first.Start();
        metrics.RecordPing(TimeSpan.FromMilliseconds(1));
        metrics.RecordPing(TimeSpan.FromMilliseconds(2));

        using var second = new Recorder(identity.PeerId);
        metrics.AttachListener(second.Start);

        Assert.Equal(2, first.Values("qudag.ping.duration", null).Count);
        Assert.Empty(second.Values("qudag.ping.duration", null)); // the price: it sees only what comes next
        metrics.RecordPing(TimeSpan.FromMilliseconds(3));
        Assert.Equal(3, first.Values("qudag.ping.duration", null).Count);
        Assert.Single(second.Values("qudag.ping.duration", null));
    }

    /// <summary>A MeterListener on one manager's histograms, keeping each measurement with its direction tag.</summary>
    private sealed class Recorder(PeerId node) : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Name, string? Direction, double Value)> _seen = [];

        public bool Start()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument is Histogram<double> && instrument.Meter.Tags?.Any(t => t.Key == ManagerMetrics.PeerIdTag && Equals(t.Value, node.ToString())) == true)
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            {
                string? direction = null;
                foreach (var tag in tags)
                {
                    if (tag.Key == "direction")
                        direction = tag.Value as string;
                }
                lock (_seen)
                    _seen.Add((instrument.Name, direction, value));
            });
            _listener.Start();
            return true;
        }

        public List<double> Values(string name, string? direction)
        {
            lock (_seen)
                return _seen.Where(s => s.Name == name && s.Direction == direction).Select(s => s.Value).ToList();
        }

        public void Dispose() => _listener.Dispose();
    }
}
