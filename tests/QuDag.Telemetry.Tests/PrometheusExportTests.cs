using System.Globalization;
using System.Net;
using System.Text.Json;
using QuDag.Network;

namespace QuDag.Telemetry.Tests;

/// <summary>A real Prometheus server (Debian's package) scrapes a node's endpoint while two loopback managers ping.</summary>
public sealed class PrometheusExportTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [SkippableFact]
    public async Task Prometheus_scrapes_the_nodes_connection_count_and_ping_round_trips()
    {
        var prometheusBinary = External.Require("prometheus", "prometheus");
        await using var pair = await NodePair.ConnectAsync();
        var port = External.FreePort();
        await using var exporter = QuDagTelemetry.StartExporter(pair.Node, new QuDagExporterOptions { Prometheus = new() { Port = port } });
        Assert.Equal(new Uri($"http://127.0.0.1:{port}/metrics"), exporter.PrometheusEndpoint);

        using var dir = new TempDir();
        var webPort = External.FreePort();
        File.WriteAllText(dir.File("prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: qudag
                static_configs:
                  - targets: ['127.0.0.1:{port}']
            """);
        using var prometheus = External.Start(prometheusBinary,
        [
            $"--config.file={dir.File("prometheus.yml")}", $"--storage.tsdb.path={dir.File("data")}",
            $"--web.listen-address=127.0.0.1:{webPort}", "--log.level=warn",
        ]);
        try
        {
            await pair.PingBothWaysAsync(5);
            var node = pair.Node.LocalPeerId.ToString();
            var api = $"http://127.0.0.1:{webPort}/api/v1/query?query=";

            // The node has one active connection (to the remote) and none idle.
            var active = await QueryUntilAsync(api, $"qudag_connections{{state=\"active\",qudag_peer_id=\"{node}\"}}", v => v == 1);
            Assert.Equal(1, active);
            Assert.Equal(0, await QueryUntilAsync(api, $"qudag_connections{{state=\"idle\",qudag_peer_id=\"{node}\"}}", _ => true));

            // Exactly the node's own pings (keepalive is off), and the same seconds the manager measured.
            var count = await QueryUntilAsync(api, $"qudag_ping_duration_seconds_count{{qudag_peer_id=\"{node}\"}}", v => v == pair.NodeRoundTrips.Count);
            Assert.Equal(5, count);
            var sum = await QueryUntilAsync(api, $"qudag_ping_duration_seconds_sum{{qudag_peer_id=\"{node}\"}}", _ => true);
            Assert.Equal(pair.NodeRoundTrips.Sum(t => t.TotalSeconds), sum, 9);
            var belowOneSecond = await QueryUntilAsync(api, $"qudag_ping_duration_seconds_bucket{{le=~\"1|1[.]0\",qudag_peer_id=\"{node}\"}}", _ => true);
            Assert.Equal(5, belowOneSecond);

            // More pings show up at the next scrapes: the series is live, not a snapshot.
            await pair.PingBothWaysAsync(3);
            Assert.Equal(8, await QueryUntilAsync(api, $"qudag_ping_duration_seconds_count{{qudag_peer_id=\"{node}\"}}", v => v == 8));
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
        }
    }

    [SkippableFact]
    public async Task Promtool_accepts_a_scrape_of_the_endpoint()
    {
        var promtool = External.Require("promtool", "prometheus");
        await using var pair = await NodePair.ConnectAsync();
        var port = External.FreePort();
        await using var exporter = QuDagTelemetry.StartExporter(pair.Node, new QuDagExporterOptions { Prometheus = new() { Port = port } });
        await pair.PingBothWaysAsync(3);
        await pair.Node.SendAsync(pair.Remote.LocalPeerId, new byte[100]);

        var scrape = await Http.GetStringAsync(exporter.PrometheusEndpoint);
        Assert.Contains("qudag_ping_duration_seconds_bucket", scrape);
        Assert.Contains("qudag_network_io_bytes_total{", scrape);

        var (exit, output, error) = await External.RunAsync(promtool, ["check", "metrics"], stdin: scrape);
        Assert.True(exit == 0, $"promtool check metrics exited {exit}:\n{output}\n{error}\n--- scrape ---\n{scrape}");
    }

    [SkippableFact]
    public async Task Closes_by_reason_and_refused_reservations_by_scope_reach_the_scrape()
    {
        var promtool = External.Require("promtool", "prometheus");
        await using var remote = new ConnectionManager(10);
        var listener = await remote.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        await using var node = new ConnectionManager(new ConnectionManagerOptions { KeepAliveInterval = TimeSpan.Zero });
        var port = External.FreePort();
        await using var exporter = QuDagTelemetry.StartExporter(node, new QuDagExporterOptions { Prometheus = new() { Port = port } });
        await node.ConnectAsync(remote.LocalPeerId, listener.LocalEndPoint);
        await node.DisconnectAsync(remote.LocalPeerId, close: true);
        node.Resources.SetLimits(QuDag.P2p.Resources.ResourceScopeKind.Transient, new QuDag.P2p.Resources.ResourceLimits { ConnectionsOutbound = 0 });
        await Assert.ThrowsAsync<PeerConnectException>(() => node.ConnectAsync(remote.LocalPeerId));

        var scrape = await Http.GetStringAsync(exporter.PrometheusEndpoint);
        var nodeId = node.LocalPeerId.ToString();
        Assert.Contains(scrape.Split('\n'), l => l.StartsWith("qudag_connection_closes_total{", StringComparison.Ordinal)
            && l.Contains("reason=\"local_disconnect\"", StringComparison.Ordinal) && l.Contains(nodeId, StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains(scrape.Split('\n'), l => l.StartsWith("qudag_resource_blocked_total{", StringComparison.Ordinal)
            && l.Contains("scope=\"transient\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        var (exit, output, error) = await External.RunAsync(promtool, ["check", "metrics"], stdin: scrape);
        Assert.True(exit == 0, $"promtool check metrics exited {exit}:\n{output}\n{error}\n--- scrape ---\n{scrape}");
    }

    [Fact]
    public async Task An_exporter_started_after_activity_shows_the_histograms_the_node_already_has()
    {
        await using var pair = await NodePair.ConnectAsync(); // one outbound handshake
        await pair.PingBothWaysAsync(5);
        var port = External.FreePort();
        await using var exporter = QuDagTelemetry.StartExporter(pair.Node, new QuDagExporterOptions { Prometheus = new() { Port = port } });

        var scrape = await Http.GetStringAsync(exporter.PrometheusEndpoint);
        AssertPings(scrape, pair.NodeRoundTrips);
        Assert.Equal(1, Value(scrape, "qudag_connection_handshake_duration_seconds_count", "direction=\"outbound\""));
        var handshake = pair.Node.GetPeer(pair.Remote.LocalPeerId)!.HandshakeTime!.Value.TotalSeconds;
        Assert.Equal(handshake, Value(scrape, "qudag_connection_handshake_duration_seconds_sum", "direction=\"outbound\""), 9);

        // Later pings add to what was replayed, once each: the series goes on live.
        await pair.PingBothWaysAsync(3);
        var later = await ScrapeUntilAsync(exporter.PrometheusEndpoint!, s => Value(s, "qudag_ping_duration_seconds_count") == 8);
        AssertPings(later, pair.NodeRoundTrips);
    }

    // Every bucket, the count and the sum of the node's ping histogram are the round trips it measured.
    private static void AssertPings(string scrape, IReadOnlyList<TimeSpan> roundTrips)
    {
        Assert.Equal(roundTrips.Count, Value(scrape, "qudag_ping_duration_seconds_count"));
        Assert.Equal(roundTrips.Sum(t => t.TotalSeconds), Value(scrape, "qudag_ping_duration_seconds_sum"), 9);
        var buckets = Lines(scrape, "qudag_ping_duration_seconds_bucket").ToList();
        Assert.True(buckets.Count > 10, scrape);
        foreach (var line in buckets)
        {
            var le = System.Text.RegularExpressions.Regex.Match(line, "le=\"([^\"]+)\"").Groups[1].Value;
            var bound = le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture);
            Assert.True(roundTrips.Count(t => t.TotalSeconds <= bound) == ParseValue(line), $"bucket le={le}: {line}");
        }
    }

    private static IEnumerable<string> Lines(string scrape, string metric, string? label = null) =>
        scrape.Split('\n').Where(l => l.StartsWith(metric + "{", StringComparison.Ordinal) && (label is null || l.Contains(label, StringComparison.Ordinal)));

    private static double Value(string scrape, string metric, string? label = null) =>
        Lines(scrape, metric, label).Select(ParseValue).DefaultIfEmpty(double.NaN).Single();

    private static double ParseValue(string line) => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);

    private static async Task<string> ScrapeUntilAsync(Uri endpoint, Func<string, bool> condition)
    {
        var last = "";
        await External.UntilAsync(async () => condition(last = await Http.GetStringAsync(endpoint)) ? "" : null,
            "a scrape showing the later pings", TimeSpan.FromSeconds(10));
        return last;
    }

    [Fact]
    public async Task Only_the_given_managers_meter_is_exported()
    {
        await using var pair = await NodePair.ConnectAsync();
        var port = External.FreePort();
        await using var exporter = QuDagTelemetry.StartExporter(pair.Node, new QuDagExporterOptions { Prometheus = new() { Port = port } });

        var scrape = await Http.GetStringAsync(exporter.PrometheusEndpoint);
        var node = pair.Node.LocalPeerId.ToString();
        var remote = pair.Remote.LocalPeerId.ToString();
        // Both managers live in this process and publish a meter of the same name; the remote's must not leak in.
        var connectionLines = scrape.Split('\n').Where(l => l.StartsWith("qudag_connections{", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, connectionLines.Count); // active and idle, of one node
        Assert.All(connectionLines, l => Assert.Contains($"qudag_peer_id=\"{node}\"", l));
        Assert.DoesNotContain(remote, scrape);
        Assert.Contains($"service_instance_id=\"{node}\"", scrape); // target_info names the node too
    }

    [Fact]
    public async Task A_port_in_use_is_a_typed_error_and_stopping_frees_the_port()
    {
        await using var manager = new ConnectionManager(10);
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var ex = Assert.Throws<ExporterPortInUseException>(() =>
            QuDagTelemetry.StartExporter(manager, new QuDagExporterOptions { Prometheus = new() { Port = port } }));
        Assert.Equal(port, ex.Port);
        Assert.Contains(port.ToString(CultureInfo.InvariantCulture), ex.Message);
        taken.Stop();

        var exporter = QuDagTelemetry.StartExporter(manager, new QuDagExporterOptions { Prometheus = new() { Port = port } });
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(exporter.PrometheusEndpoint)).StatusCode);
        await exporter.DisposeAsync();
        Assert.False(exporter.IsRunning);
        // Stopped means the port is free again: a new listener can bind it.
        using var again = new System.Net.Sockets.TcpListener(IPAddress.Loopback, port);
        again.Start();
    }

    [Fact]
    public async Task Binding_beyond_loopback_needs_the_explicit_opt_in()
    {
        await using var manager = new ConnectionManager(10);
        var options = new QuDagExporterOptions { Prometheus = new() { Port = External.FreePort(), ListenAddress = IPAddress.Any } };
        var ex = Assert.Throws<ArgumentException>(() => QuDagTelemetry.StartExporter(manager, options));
        Assert.Contains("AllowNonLoopback", ex.Message);
        Assert.Throws<ArgumentException>(() => QuDagTelemetry.StartExporter(manager, new QuDagExporterOptions()));
    }

    /// <summary>Queries Prometheus until the single sample satisfies <paramref name="accept"/>; returns its value.</summary>
    private static async Task<double> QueryUntilAsync(string api, string query, Func<double, bool> accept)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        var lastSeen = "(no answer)";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var doc = JsonDocument.Parse(await Http.GetStringAsync(api + Uri.EscapeDataString(query)));
                var result = doc.RootElement.GetProperty("data").GetProperty("result");
                lastSeen = result.GetRawText();
                if (result.GetArrayLength() == 1
                    && double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture) is var value && accept(value))
                    return value;
            }
            catch (HttpRequestException ex)
            {
                lastSeen = ex.Message; // Prometheus is still starting
            }
            await Task.Delay(200);
        }
        Assert.Fail($"Prometheus did not answer {query} as expected within 40 s; last result: {lastSeen}");
        return 0;
    }
}
