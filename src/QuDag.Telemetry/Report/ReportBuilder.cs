using System.Globalization;
using System.Net;
using System.Text;
using QuDag.Network;
using ScottPlot;

namespace QuDag.Telemetry;

/// <summary>
/// Renders a report as one HTML file: styles inline, charts as inline SVG drawn by ScottPlot, no script and no link
/// to anything, so it opens anywhere without a network and prints as it shows.
/// </summary>
internal sealed partial class ReportBuilder(ReportData data, QuDagReportOptions options)
{
    private const int ChartWidth = 1100, ChartHeight = 340;
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private readonly StringBuilder _html = new();
    private int _charts;

    public string Render()
    {
        SkiaNative.EnsureResolvable();
        var m = data.Metrics;
        _html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"generator\" content=\"QuDag.Telemetry\">\n")
            .Append("<title>").Append(E(options.Title)).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n")
            .Append("<h1>").Append(E(options.Title)).Append("</h1>\n")
            .Append("<p class=\"meta\">Node <code>").Append(E(data.LocalPeerId.ToString())).Append("</code> &middot; generated ")
            .Append(E(data.GeneratedAt.ToString("u", Invariant))).Append("</p>\n");

        Section("Summary", "summary");
        _html.Append("<div class=\"cards\">\n");
        Card("Active connections", m.Connections.ToString(Invariant));
        Card("Idle in pool", m.IdleConnections.ToString(Invariant));
        Card("Open / max", $"{m.OpenConnections} / {m.MaxConnections}");
        Card("Tracked peers", m.TrackedPeers.ToString(Invariant));
        Card("Ping p50 / p95 / p99", $"{Ms(m.LatencyP50)} / {Ms(m.LatencyP95)} / {Ms(m.LatencyP99)} ms");
        Card("Pings", m.PingCount.ToString(Invariant));
        Card("Messages sent / received", $"{m.MessagesSent} / {m.MessagesReceived}");
        Card("Failed connects (out / in)", $"{m.FailedConnects} / {m.FailedInbound}");
        _html.Append("</div>\n</section>\n");

        if (options.Crawl is { } crawl)
        {
            CrawlSections(crawl);
            if (options.PreviousCrawl is { } previous)
                CrawlChanges(previous, crawl);
        }

        Section("Peers", "peers");
        PeerTable();
        _html.Append("</section>\n");

        Section("Ping latency distribution", "latency-histogram");
        Chart(LatencyHistogram(), "No ping round trips were measured yet.");
        _html.Append("</section>\n");

        Section("Round-trip time by peer", "rtt-over-time");
        Chart(RoundTripsOverTime(), "No ping round trips were measured yet.");
        _html.Append("</section>\n");

        Section("Connection pool", "pool");
        Chart(PoolChart(), null);
        _html.Append("</section>\n");

        Section("Connection failures by reason", "failures");
        Chart(FailureChart(), "No connection has failed.");
        _html.Append("</section>\n");

        Section("Connection closes by reason", "closes");
        Chart(CloseChart(), "No connection has closed.");
        _html.Append("</section>\n");

        Section("Topics", "topics");
        TopicTable();
        _html.Append("</section>\n");

        Section("Recent connection events", "events");
        EventTable();
        _html.Append("</section>\n");

        _html.Append("</body>\n</html>\n");
        return _html.ToString();
    }

    private void Section(string title, string id) =>
        _html.Append("<section id=\"").Append(id).Append("\">\n<h2>").Append(E(title)).Append("</h2>\n");

    private void Card(string label, string value) =>
        _html.Append("<div class=\"card\"><div class=\"label\">").Append(E(label)).Append("</div><div class=\"value\">").Append(E(value)).Append("</div></div>\n");

    private void Chart(Plot? plot, string? empty)
    {
        if (plot is null)
        {
            _html.Append("<p class=\"empty\">").Append(E(empty ?? "")).Append("</p>\n");
            return;
        }
        var svg = UniqueIds(plot.GetSvgXml(ChartWidth, ChartHeight), $"c{++_charts}-");
        _html.Append("<figure class=\"chart\">").Append(svg).Append("</figure>\n");
    }

    /// <summary>
    /// Every chart's SVG names its clip paths cl_1, cl_2, ...: inline in one page, a chart would clip with another's
    /// paths (ids are per document). Prefixing the ids and their references keeps each chart to its own.
    /// </summary>
    private static string UniqueIds(string svg, string prefix) =>
        SvgIdReference().Replace(svg, m => m.Groups["lead"].Value + prefix + m.Groups["id"].Value);

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<lead>\bid=""|url\(#|href=""#)(?<id>[A-Za-z_][\w.-]*)")]
    private static partial System.Text.RegularExpressions.Regex SvgIdReference();

    private Plot? LatencyHistogram()
    {
        var values = data.RoundTrips.Values.SelectMany(s => s).Select(s => s.RoundTrip.TotalMilliseconds).ToArray();
        if (values.Length == 0)
            return null;
        double min = values.Min(), max = values.Max();
        if (max - min < 1e-6)
            (min, max) = (Math.Max(0, min * 0.9), max * 1.1 + 1e-3); // one value: a narrow window around it
        var histogram = ScottPlot.Statistics.Histogram.WithBinCount(Math.Clamp(values.Length / 4, 5, 40), min, max);
        histogram.AddRange(values);
        var plot = NewPlot("round trip (ms)", "pings");
        var bars = plot.Add.Bars(histogram.Bins, histogram.Counts);
        foreach (var bar in bars.Bars)
        {
            bar.Size = histogram.FirstBinSize * 0.95;
            bar.FillColor = Colors.SteelBlue;
            bar.LineWidth = 0;
        }
        plot.Axes.Margins(bottom: 0);
        // A round trip is never negative: the axis starts one bin left of the first bar, or at zero.
        plot.Axes.SetLimitsX(Math.Max(0, min - histogram.FirstBinSize), max + histogram.FirstBinSize);
        CountAxis(plot);
        return plot;
    }

    /// <summary>Counts are whole: no 0.5 ticks on a count axis.</summary>
    private static void CountAxis(Plot plot) =>
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };

    private Plot? RoundTripsOverTime()
    {
        if (data.RoundTrips.Count == 0)
            return null;
        var plot = NewPlot("time (UTC)", "round trip (ms)");
        var drawn = data.RoundTrips.OrderByDescending(p => p.Value[^1].At).Take(options.MaxPeersInChart);
        foreach (var (peer, samples) in drawn)
        {
            var xs = samples.Select(s => s.At.UtcDateTime.ToOADate()).ToArray();
            var ys = samples.Select(s => s.RoundTrip.TotalMilliseconds).ToArray();
            var scatter = plot.Add.Scatter(xs, ys);
            scatter.LegendText = peer.ToShortString();
            scatter.MarkerSize = 4;
            scatter.LineWidth = 1.5f;
        }
        plot.Axes.DateTimeTicksBottom();
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private Plot PoolChart()
    {
        var m = data.Metrics;
        return BarChart("connections", [("pool hits", m.PoolHits), ("pool misses (dials)", m.PoolMisses),
            ("expired in pool", m.PoolExpirations), ("idle now", m.IdleConnections), ("active now", m.Connections)], Colors.SeaGreen);
    }

    private Plot? FailureChart()
    {
        var failures = data.Failures.Where(f => f.Count > 0).OrderBy(f => f.Direction).ThenBy(f => f.Reason)
            .Select(f => ($"{f.Reason} ({f.Direction})", f.Count)).ToList();
        return failures.Count == 0 ? null : BarChart("connections", failures, Colors.IndianRed);
    }

    private Plot? CloseChart()
    {
        var closes = data.Metrics.ClosesByReason.Where(c => c.Value > 0).OrderBy(c => c.Key)
            .Select(c => (CloseReasons.Name(c.Key), c.Value)).ToList();
        return closes.Count == 0 ? null : BarChart("connections", closes, Colors.SlateGray);
    }

    /// <summary>"trimmed", "limit (system)", ...: a close reason as the tables show it.</summary>
    private static string CloseText(CloseReason? reason, string? scope) =>
        reason is not { } r ? "" : scope is null ? CloseReasons.Name(r) : $"{CloseReasons.Name(r)} ({scope})";

    private static Plot BarChart(string yLabel, IReadOnlyList<(string Label, long Value)> items, Color color)
    {
        var plot = NewPlot("", yLabel);
        var bars = plot.Add.Bars(items.Select(i => (double)i.Value).ToArray());
        foreach (var bar in bars.Bars)
        {
            bar.FillColor = color;
            bar.Label = bar.Value.ToString("0", Invariant);
        }
        bars.ValueLabelStyle.FontSize = 14;
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, items.Count).Select(i => (double)i).ToArray(), items.Select(i => i.Label).ToArray());
        plot.Axes.Margins(bottom: 0, top: 0.2);
        CountAxis(plot);
        return plot;
    }

    private static Plot NewPlot(string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        return plot;
    }

    private void PeerTable()
    {
        if (data.Peers.Count == 0)
        {
            _html.Append("<p class=\"empty\">The node knows no peer.</p>\n");
            return;
        }
        _html.Append("<table>\n<thead><tr><th>Peer</th><th>Status</th><th>Endpoint</th><th>Direction</th><th>Latency (ms)</th>")
            .Append("<th>Pooled</th><th>Circuit</th><th>Protected</th><th>Last change (UTC)</th><th>Last close</th><th>Last error</th></tr></thead>\n<tbody>\n");
        foreach (var p in data.Peers.Take(options.MaxPeersInTable))
        {
            _html.Append("<tr><td><code title=\"").Append(E(p.PeerId.ToString())).Append("\">").Append(E(p.PeerId.ToShortString())).Append("</code></td>")
                .Append("<td class=\"status-").Append(E(p.Status?.ToString().ToLowerInvariant() ?? "unknown")).Append("\">").Append(E(p.Status?.ToString() ?? "")).Append("</td>")
                .Append("<td>").Append(E(p.Endpoint?.ToString() ?? "")).Append("</td>")
                .Append("<td>").Append(p.Inbound switch { true => "inbound", false => "outbound", null => "" }).Append("</td>")
                .Append("<td class=\"num\">").Append(p.Latency is { } l ? Ms(l) : "").Append("</td>")
                .Append("<td>").Append(p.Pooled ? "yes" : "").Append("</td>")
                .Append("<td>").Append(E(p.CircuitState.ToString())).Append("</td>")
                .Append("<td>").Append(E(string.Join(", ", p.ProtectionTags))).Append("</td>")
                .Append("<td>").Append(p.LastChange is { } c ? E(c.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Invariant)) : "").Append("</td>")
                .Append("<td>").Append(E(CloseText(p.CloseReason, p.CloseScope))).Append("</td>")
                .Append("<td>").Append(E(p.LastError ?? "")).Append("</td></tr>\n");
        }
        _html.Append("</tbody>\n</table>\n");
        if (data.Peers.Count > options.MaxPeersInTable)
            _html.Append("<p class=\"note\">").Append(data.Peers.Count - options.MaxPeersInTable).Append(" more peers are not listed.</p>\n");
    }

    /// <summary>The gossipsub topics this node joins or publishes to: the mesh against D_lo..D_hi, traffic, and delivery latency.</summary>
    private void TopicTable()
    {
        if (data.Topics.Count == 0)
        {
            _html.Append("<p class=\"empty\">The node joins and publishes to no topic.</p>\n");
            return;
        }
        _html.Append("<table>\n<thead><tr><th>Topic</th><th>Subscribed</th><th>Mesh peers</th><th>Subscribers</th><th>Published</th><th>Received</th>")
            .Append("<th>Duplicates</th><th>Invalid</th><th>Dropped</th><th>Latency p50 / p95 (ms)</th></tr></thead>\n<tbody>\n");
        foreach (var t in data.Topics)
        {
            _html.Append("<tr><td><code>").Append(E(t.Topic)).Append("</code></td>")
                .Append("<td>").Append(t.Subscribed ? "yes" : "no (fanout)").Append("</td>")
                .Append("<td class=\"num\">").Append(t.MeshPeers.Count.ToString(Invariant)).Append("</td>")
                .Append("<td class=\"num\">").Append(t.Subscribers.Count.ToString(Invariant)).Append("</td>")
                .Append("<td class=\"num\">").Append(t.Published.ToString(Invariant)).Append("</td>")
                .Append("<td class=\"num\">").Append(t.Received.ToString(Invariant)).Append("</td>")
                .Append("<td class=\"num\">").Append(t.Duplicates.ToString(Invariant)).Append("</td>")
                .Append("<td class=\"num\">").Append(t.Invalid.ToString(Invariant)).Append("</td>")
                .Append("<td class=\"num\">").Append(t.Dropped.ToString(Invariant)).Append("</td>")
                .Append("<td class=\"num\">").Append(t.LatencySamples > 0 ? $"{Ms(t.LatencyP50)} / {Ms(t.LatencyP95)}" : "").Append("</td></tr>\n");
        }
        _html.Append("</tbody>\n</table>\n");
    }

    private void EventTable()
    {
        if (data.Events.Count == 0)
        {
            _html.Append("<p class=\"empty\">No connection changed state yet.</p>\n");
            return;
        }
        _html.Append("<p class=\"note\">The last ").Append(data.Events.Count).Append(" status changes (at most ")
            .Append(ConnectionManager.EventLogCapacity).Append("), newest first.</p>\n")
            .Append("<table>\n<thead><tr><th>Time (UTC)</th><th>Peer</th><th>From</th><th>To</th><th>Close</th><th>Reason</th></tr></thead>\n<tbody>\n");
        foreach (var e in data.Events.Reverse())
        {
            _html.Append("<tr><td>").Append(E(e.At.UtcDateTime.ToString("HH:mm:ss.fff", Invariant))).Append("</td>")
                .Append("<td><code>").Append(E(e.PeerId.ToShortString())).Append("</code></td>")
                .Append("<td>").Append(E(e.OldStatus?.ToString() ?? "(new)")).Append("</td>")
                .Append("<td class=\"status-").Append(E(e.NewStatus.ToString().ToLowerInvariant())).Append("\">").Append(E(e.NewStatus.ToString())).Append("</td>")
                .Append("<td>").Append(E(CloseText(e.CloseReason, e.CloseScope))).Append("</td>")
                .Append("<td>").Append(E(e.Reason ?? "")).Append("</td></tr>\n");
        }
        _html.Append("</tbody>\n</table>\n");
    }

    private static string Ms(TimeSpan value) => value.TotalMilliseconds.ToString("0.###", Invariant);

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private const string Css = """
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 24px 32px; color: #1f2328; background: #fff; }
        h1 { font-size: 26px; margin: 0 0 4px; }
        h2 { font-size: 19px; margin: 28px 0 10px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
        .meta, .note, .empty { color: #57606a; font-size: 14px; }
        code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
        .cards { display: flex; flex-wrap: wrap; gap: 10px; }
        .card { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 14px; min-width: 150px; }
        .card .label { font-size: 12px; color: #57606a; }
        .card .value { font-size: 20px; font-weight: 600; }
        table { border-collapse: collapse; font-size: 13px; width: 100%; }
        th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; }
        th { background: #f6f8fa; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        .status-connected { color: #1a7f37; font-weight: 600; }
        .status-failed { color: #cf222e; font-weight: 600; }
        .status-connecting { color: #9a6700; }
        figure.chart { margin: 0; }
        figure.chart svg { max-width: 100%; height: auto; }
        figure.map { margin: 0; border: 1px solid #d0d7de; border-radius: 6px; }
        figure.map svg { max-width: 100%; height: auto; display: block; }
        .network-map .edges line { stroke: #8c959f; stroke-opacity: 0.45; stroke-width: 1; }
        .network-map circle { stroke: #fff; stroke-width: 1.5; }
        .network-map circle.server, .key.server { fill: #0969da; color: #0969da; }
        .network-map circle.client, .key.client { fill: #bf8700; color: #bf8700; }
        .network-map circle.unknown, .key.unknown { fill: #8c959f; color: #6e7781; }
        .network-map circle.undialable { stroke: #cf222e; stroke-width: 3; }
        .network-map text { font-size: 9px; text-anchor: middle; fill: #1f2328; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
        .key { font-weight: 600; }
        table.counts { width: auto; min-width: 360px; margin-bottom: 12px; }

        """;
}
