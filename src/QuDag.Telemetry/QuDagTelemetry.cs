using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using QuDag.Network;

namespace QuDag.Telemetry;

/// <summary>
/// Exports a <see cref="ConnectionManager"/>'s metrics through OpenTelemetry (a Prometheus scrape endpoint, OTLP, or
/// both) and writes reports of it, for a .NET program that embeds the manager without the PowerShell module.
/// </summary>
/// <example>
/// <code>
/// await using var exporter = QuDagTelemetry.StartExporter(manager, new QuDagExporterOptions
/// {
///     Prometheus = new() { Port = 9464 },                                       // http://127.0.0.1:9464/metrics
///     Otlp = new() { Endpoint = new Uri("http://127.0.0.1:4318"), ExportInterval = TimeSpan.FromSeconds(15) },
/// });
/// </code>
/// </example>
public static class QuDagTelemetry
{
    /// <summary>The meter the manager publishes (<c>System.Diagnostics.Metrics</c>).</summary>
    public const string MeterName = "QuDag.Network";

    /// <summary>The resource attribute (and the Prometheus label <c>qudag_peer_id</c>) that names the node.</summary>
    public const string PeerIdAttribute = "qudag.peer.id";

    /// <summary>
    /// Starts exporting <paramref name="manager"/>'s metrics. Only this manager's meter is exported, even when the
    /// process runs several; every series carries the node's peer id (the resource's <c>service.instance.id</c> and
    /// <c>qudag.peer.id</c>; Prometheus series also get the label <c>qudag_peer_id</c>), so a fleet's series stay apart.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid (<see cref="QuDagExporterOptions.Validate"/>).</exception>
    /// <exception cref="ExporterPortInUseException">The Prometheus port is taken.</exception>
    /// <exception cref="MetricsExporterException">The exporter could not start for another reason.</exception>
    public static MetricsExporter StartExporter(ConnectionManager manager, QuDagExporterOptions options)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var peerId = manager.LocalPeerId;
        var peerText = peerId.ToString();
        var version = typeof(ConnectionManager).Assembly.GetName().Version?.ToString(3);
        var resource = ResourceBuilder.CreateEmpty()
            .AddService(options.ServiceName, serviceVersion: version, autoGenerateServiceInstanceId: false, serviceInstanceId: peerText)
            .AddAttributes([new(PeerIdAttribute, peerText)]);
        var builder = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(MeterName)
            // Every manager's meter has the same name: keep this manager's (tagged with its peer id), drop the others'.
            .AddView(instrument => IsNodeMeter(instrument.Meter, peerText) ? null : MetricStreamConfiguration.Drop);
        if (options.Prometheus is { } prometheus)
            builder.AddPrometheusHttpListener(o => ConfigurePrometheus(o, prometheus));
        if (options.Otlp is { } otlp)
        {
            builder.AddOtlpExporter((exporter, reader) =>
            {
                exporter.Endpoint = otlp.MetricsUri;
                exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                exporter.TimeoutMilliseconds = (int)otlp.ExportTimeout.TotalMilliseconds;
                reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)otlp.ExportInterval.TotalMilliseconds;
                reader.PeriodicExportingMetricReaderOptions.ExportTimeoutMilliseconds = (int)otlp.ExportTimeout.TotalMilliseconds;
            });
        }
        MeterProvider provider;
        try
        {
            // Built while the manager holds its histograms still, which then replays their earlier measurements
            // into it: an exporter started after activity shows the ping and handshake histograms the node already has.
            provider = manager.AttachMeterListener(builder.Build);
        }
        catch (Exception ex) when (options.Prometheus is { } p && IsAddressInUse(ex))
        {
            throw new ExporterPortInUseException(p.ListenAddress, p.Port, ex);
        }
        catch (Exception ex) when (ex is not ArgumentException)
        {
            throw new MetricsExporterException($"The metrics exporter did not start: {ex.GetBaseException().Message}", ex);
        }
        return new MetricsExporter(provider, peerId, options, DateTimeOffset.UtcNow);
    }

    /// <summary>Writes a self-contained HTML report of <paramref name="manager"/> (no network needed to open it).</summary>
    public static void WriteReport(ConnectionManager manager, string path, QuDagReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var html = RenderReport(manager, options);
        File.WriteAllText(path, html);
    }

    /// <summary>The report as HTML text: the peer table, latency charts, recent connection events, pool and failure counts.</summary>
    public static string RenderReport(ConnectionManager manager, QuDagReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(manager);
        return new ReportBuilder(ReportData.Collect(manager), options ?? new QuDagReportOptions()).Render();
    }

    internal static bool IsNodeMeter(Meter meter, string peerText) =>
        meter.Name == MeterName && meter.Tags?.Any(t => t.Key == PeerIdAttribute && Equals(t.Value, peerText)) == true;

    private static void ConfigurePrometheus(PrometheusHttpListenerOptions o, PrometheusEndpointOptions p)
    {
        var wildcard = p.ListenAddress.Equals(IPAddress.Any) || p.ListenAddress.Equals(IPAddress.IPv6Any);
        o.Host = p.ListenAddress.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{p.ListenAddress}]" : p.ListenAddress.ToString();
        o.Port = p.Port;
        o.ScrapeEndpointPath = p.Path;
        o.ResourceConstantLabels = static key => key == PeerIdAttribute;
        if (wildcard)
        {
            // The exporter's own prefix names one host; "+" binds every interface (only with AllowNonLoopback).
            o.ConfigureHttpListener = (options, listener) =>
            {
                listener.Prefixes.Clear();
                listener.Prefixes.Add($"http://+:{options.Port}{options.ScrapeEndpointPath?.TrimEnd('/')}/");
            };
        }
    }

    private static bool IsAddressInUse(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }
                or HttpListenerException { ErrorCode: 98 or 48 or 10048 } // EADDRINUSE on Linux, macOS, Windows
                || e.Message.Contains("already in use", StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }
}
