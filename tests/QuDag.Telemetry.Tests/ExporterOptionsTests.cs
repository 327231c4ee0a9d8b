using System.Net;
using QuDag.Network;

namespace QuDag.Telemetry.Tests;

/// <summary>The settings' rules, checked before anything binds or dials, and the edges of the endpoint and the report.</summary>
public sealed class ExporterOptionsTests
{
    [Theory]
    [InlineData("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/metrics")]
    [InlineData("http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/metrics")]
    [InlineData("https://collector.example:4318/custom/path", "https://collector.example:4318/custom/path")]
    public void An_otlp_base_url_gets_the_metrics_path_and_a_full_url_is_kept(string endpoint, string posted) =>
        Assert.Equal(new Uri(posted), new OtlpEndpointOptions { Endpoint = new Uri(endpoint) }.MetricsUri);

    [Fact]
    public void Invalid_settings_name_the_setting()
    {
        Assert.Equal("Port", Assert.ThrowsAny<ArgumentException>(() => Validate(new() { Prometheus = new() { Port = 0 } })).ParamName);
        Assert.Equal("Path", Assert.ThrowsAny<ArgumentException>(() => Validate(new() { Prometheus = new() { Path = "metrics" } })).ParamName);
        Assert.Equal("ListenAddress",
            Assert.ThrowsAny<ArgumentException>(() => Validate(new() { Prometheus = new() { ListenAddress = IPAddress.Parse("10.1.2.3") } })).ParamName);
        Assert.Equal("Endpoint", Assert.ThrowsAny<ArgumentException>(() => Validate(new() { Otlp = new() })).ParamName);
        Assert.Equal("Endpoint",
            Assert.ThrowsAny<ArgumentException>(() => Validate(new() { Otlp = new() { Endpoint = new Uri("ftp://127.0.0.1/") } })).ParamName);
        Assert.Equal("ExportInterval", Assert.ThrowsAny<ArgumentException>(() =>
            Validate(new() { Otlp = new() { Endpoint = new Uri("http://127.0.0.1:4318"), ExportInterval = TimeSpan.FromMilliseconds(10) } })).ParamName);
        Assert.Equal("ServiceName", Assert.ThrowsAny<ArgumentException>(() => Validate(new() { ServiceName = " ", Prometheus = new() })).ParamName);

        // Loopback needs no opt-in; another address with the opt-in is valid.
        Validate(new() { Prometheus = new() { ListenAddress = IPAddress.Loopback } });
        Validate(new() { Prometheus = new() { ListenAddress = IPAddress.Any, AllowNonLoopback = true } });

        static void Validate(QuDagExporterOptions options) => options.Validate();
    }

    [SkippableFact]
    public void An_ipv6_address_is_refused_up_front_where_the_listener_cannot_bind_it()
    {
        Skip.If(OperatingSystem.IsWindows(), "HTTP.sys binds IPv6 prefixes.");
        var ex = Assert.ThrowsAny<ArgumentException>(() => new QuDagExporterOptions { Prometheus = new() { ListenAddress = IPAddress.IPv6Loopback } }.Validate());
        Assert.Equal("ListenAddress", ex.ParamName);
        Assert.Contains("127.0.0.1", ex.Message);
    }

    [Fact]
    public async Task A_report_of_a_node_with_no_peers_says_so_instead_of_drawing_empty_charts()
    {
        await using var manager = new ConnectionManager(10);
        var html = QuDagTelemetry.RenderReport(manager, new QuDagReportOptions { Title = "Empty <node>" });
        Assert.Contains("<h1>Empty &lt;node&gt;</h1>", html); // text is HTML-encoded
        Assert.Contains("The node knows no peer.", html);
        Assert.Contains("No ping round trips were measured yet.", html);
        Assert.Contains("No connection has failed.", html);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(html, "<svg")); // only the pool chart
    }
}
