using System.Net;

namespace QuDag.Telemetry.Tests;

/// <summary>An OTLP/HTTP export reaches a collector stand-in on loopback, and its protobuf says what the node measured.</summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Metrics_are_pushed_over_otlp_http_protobuf_with_the_node_as_the_resource()
    {
        await using var pair = await NodePair.ConnectAsync();
        await pair.Node.SendAsync(pair.Remote.LocalPeerId, new byte[321]); // a counter: read whole at each export

        var port = External.FreePort();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var exporter = QuDagTelemetry.StartExporter(pair.Node, new QuDagExporterOptions
        {
            Otlp = new() { Endpoint = new Uri($"http://127.0.0.1:{port}"), ExportInterval = TimeSpan.FromMilliseconds(300) },
        });
        Assert.Equal(new Uri($"http://127.0.0.1:{port}/v1/metrics"), exporter.OtlpEndpoint);
        // A histogram counts what is recorded while an exporter listens.
        await pair.PingBothWaysAsync(4);

        var node = pair.Node.LocalPeerId.ToString();
        OtlpReader.Export? export = null;
        string? path = null, contentType = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        try
        {
            while (export is null)
            {
                var remaining = deadline - DateTime.UtcNow;
                Assert.True(remaining > TimeSpan.Zero, "No OTLP export with the node's four pings arrived within 20 s.");
                var context = await collector.GetContextAsync().WaitAsync(remaining);
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                path = context.Request.Url?.AbsolutePath;
                contentType = context.Request.ContentType;
                // An empty ExportMetricsServiceResponse: full success.
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
                // Exports are cumulative and may fire between pings: wait for the one that has seen all four.
                export = OtlpReader.Read(body.ToArray()).FirstOrDefault(e =>
                    e.Metrics.Any(m => m.Name == "qudag.ping.duration" && m.Points.Any(p => p.Count == 4)));
            }
        }
        finally
        {
            await exporter.DisposeAsync();
        }

        Assert.Equal("/v1/metrics", path);
        Assert.Equal("application/x-protobuf", contentType);
        Assert.Equal(node, export.Resource["service.instance.id"]);
        Assert.Equal(node, export.Resource["qudag.peer.id"]);
        Assert.Equal("qudag", export.Resource["service.name"]);

        var connections = Assert.Single(export.Metrics, m => m.Name == "qudag.connections");
        Assert.Equal("{connection}", connections.Unit);
        Assert.Equal(1, Assert.Single(connections.Points, p => p.Attributes["state"] == "active").Value);
        Assert.Equal(0, Assert.Single(connections.Points, p => p.Attributes["state"] == "idle").Value);

        var pings = Assert.Single(export.Metrics, m => m.Name == "qudag.ping.duration");
        Assert.Equal(("histogram", "s"), (pings.Kind, pings.Unit));
        var point = Assert.Single(pings.Points);
        Assert.Equal(4UL, point.Count);
        Assert.Equal(pair.NodeRoundTrips.Sum(t => t.TotalSeconds), point.Sum!.Value, 9);

        var io = Assert.Single(export.Metrics, m => m.Name == "qudag.network.io");
        Assert.Equal(("sum", "By"), (io.Kind, io.Unit));
        Assert.Equal(321, Assert.Single(io.Points, p => p.Attributes["network.io.direction"] == "transmit").Value);
    }
}
