using System.Diagnostics.Metrics;
using QuDag.Network;

namespace QuDag.Telemetry;

/// <summary>Everything a report shows, read from the manager at one moment.</summary>
internal sealed record ReportData(
    PeerId LocalPeerId,
    DateTimeOffset GeneratedAt,
    NetworkMetrics Metrics,
    IReadOnlyList<PeerInfo> Peers,
    IReadOnlyDictionary<PeerId, IReadOnlyList<RoundTripSample>> RoundTrips,
    IReadOnlyList<ConnectionEvent> Events,
    IReadOnlyList<(string Direction, string Reason, long Count)> Failures,
    IReadOnlyList<TopicInfo> Topics)
{
    public static ReportData Collect(ConnectionManager manager)
    {
        var peers = manager.GetPeers();
        var roundTrips = new Dictionary<PeerId, IReadOnlyList<RoundTripSample>>();
        foreach (var peer in peers)
        {
            if (manager.GetRoundTrips(peer.PeerId) is { Count: > 0 } samples)
                roundTrips[peer.PeerId] = samples;
        }
        return new ReportData(manager.LocalPeerId, DateTimeOffset.UtcNow, manager.GetMetrics(), peers, roundTrips,
            manager.GetRecentEvents(), ReadFailures(manager.LocalPeerId.ToString()),
            [.. manager.GetTopics().Where(t => t.Subscribed || t.Published > 0)]);
    }

    /// <summary>
    /// Failures by reason exist only on the meter (qudag.connection.failures with error.type), so the report reads them
    /// as any listener does: one observation of this node's instrument.
    /// </summary>
    private static List<(string, string, long)> ReadFailures(string peerText)
    {
        var failures = new List<(string, string, long)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "qudag.connection.failures" && QuDagTelemetry.IsNodeMeter(instrument.Meter, peerText))
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string direction = "", reason = "";
            foreach (var tag in tags)
            {
                if (tag.Key == "direction") direction = tag.Value as string ?? "";
                else if (tag.Key == "error.type") reason = tag.Value as string ?? "";
            }
            failures.Add((direction, reason, value));
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return failures;
    }
}
