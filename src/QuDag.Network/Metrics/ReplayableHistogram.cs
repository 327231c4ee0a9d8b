using System.Diagnostics.Metrics;

namespace QuDag.Network;

/// <summary>
/// A histogram instrument that also keeps, per series, the count, sum, smallest and largest value in each of its
/// buckets, so that a listener that starts after activity can be handed the distribution already recorded:
/// System.Diagnostics.Metrics gives a late listener only later measurements, and OpenTelemetry has no way to seed a
/// histogram. Recording and replaying hold one lock (shared by the manager's histograms), so a replay and a live
/// measurement never interleave and nothing is counted twice.
/// </summary>
internal sealed class ReplayableHistogram
{
    private readonly Histogram<double> _instrument;
    private readonly double[] _bounds; // inclusive upper bounds, as OpenTelemetry's explicit buckets; one more bucket above
    private readonly Series[] _series;
    private readonly Lock _lock;

    private sealed class Series(KeyValuePair<string, object?>[] tags, int buckets)
    {
        public readonly KeyValuePair<string, object?>[] Tags = tags;
        public readonly long[] Counts = new long[buckets];
        public readonly double[] Sums = new double[buckets];
        public readonly double[] Mins = new double[buckets];
        public readonly double[] Maxes = new double[buckets];
    }

    /// <param name="instrument">The meter's histogram, created with <paramref name="bounds"/> as its advice.</param>
    /// <param name="bounds">The bucket bounds, ascending.</param>
    /// <param name="gate">The lock of every histogram that <see cref="ManagerMetrics.AttachListener"/> replays at once.</param>
    /// <param name="series">The tag set of each series, by the index <see cref="Record"/> takes; one empty set when untagged.</param>
    public ReplayableHistogram(Histogram<double> instrument, double[] bounds, Lock gate, params KeyValuePair<string, object?>[][] series)
    {
        _instrument = instrument;
        _bounds = bounds;
        _lock = gate;
        _series = series.Length == 0 ? [new([], bounds.Length + 1)] : series.Select(tags => new Series(tags, bounds.Length + 1)).ToArray();
    }

    /// <summary>True when some listener receives this instrument's measurements.</summary>
    public bool IsListened => _instrument.Enabled;

    /// <summary>Records <paramref name="value"/> in series <paramref name="series"/>: kept here, and published.</summary>
    public void Record(double value, int series = 0)
    {
        var s = _series[series];
        var bucket = BucketOf(value);
        lock (_lock)
        {
            if (s.Counts[bucket]++ == 0)
            {
                s.Mins[bucket] = value;
                s.Maxes[bucket] = value;
            }
            else
            {
                s.Mins[bucket] = Math.Min(s.Mins[bucket], value);
                s.Maxes[bucket] = Math.Max(s.Maxes[bucket], value);
            }
            s.Sums[bucket] += value;
            _instrument.Record(value, s.Tags);
        }
    }

    /// <summary>
    /// Publishes again what was recorded: per bucket, its smallest and largest value and, for the rest, their mean
    /// (which lies between them, so in the same bucket), so a listener sees the same counts per bucket, the same sum
    /// and the same extremes. The caller holds the gate.
    /// </summary>
    public void ReplayHeld()
    {
        foreach (var s in _series)
        {
            for (var b = 0; b < s.Counts.Length; b++)
            {
                var count = s.Counts[b];
                if (count == 0)
                    continue;
                _instrument.Record(s.Mins[b], s.Tags);
                if (count == 1)
                    continue;
                _instrument.Record(s.Maxes[b], s.Tags);
                var rest = Math.Clamp((s.Sums[b] - s.Mins[b] - s.Maxes[b]) / (count - 2), s.Mins[b], s.Maxes[b]);
                for (var i = 2; i < count; i++)
                    _instrument.Record(rest, s.Tags);
            }
        }
    }

    private int BucketOf(double value)
    {
        var i = Array.BinarySearch(_bounds, value);
        return i >= 0 ? i : ~i; // an exact bound belongs to the bucket it closes
    }
}
