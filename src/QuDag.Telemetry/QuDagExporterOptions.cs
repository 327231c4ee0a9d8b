using System.Net;

namespace QuDag.Telemetry;

/// <summary>
/// What <see cref="QuDagTelemetry.StartExporter"/> exports to: a Prometheus scrape endpoint, an OTLP collector, or
/// both. At least one must be set.
/// </summary>
public sealed class QuDagExporterOptions
{
    /// <summary>Serve a Prometheus scrape endpoint; null for none.</summary>
    public PrometheusEndpointOptions? Prometheus { get; set; }

    /// <summary>Push to an OpenTelemetry collector over OTLP; null for none.</summary>
    public OtlpEndpointOptions? Otlp { get; set; }

    /// <summary>The <c>service.name</c> resource attribute. Default "qudag".</summary>
    public string ServiceName { get; set; } = "qudag";

    /// <summary>Checks every setting, as <see cref="QuDagTelemetry.StartExporter"/> does.</summary>
    /// <exception cref="ArgumentException">Nothing to export to, or a setting is out of range (its name is the parameter name).</exception>
    public void Validate()
    {
        if (Prometheus is null && Otlp is null)
            throw new ArgumentException("Choose an exporter: set Prometheus, Otlp or both.", nameof(Prometheus));
        if (string.IsNullOrWhiteSpace(ServiceName))
            throw new ArgumentException("ServiceName cannot be empty.", nameof(ServiceName));
        Prometheus?.Validate();
        Otlp?.Validate();
    }
}

/// <summary>A Prometheus scrape endpoint served by OpenTelemetry's HttpListener exporter.</summary>
public sealed class PrometheusEndpointOptions
{
    /// <summary>The Prometheus exporter's registered default port.</summary>
    public const int DefaultPort = 9464;

    /// <summary>The TCP port. Default 9464.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>
    /// The address to bind. Default 127.0.0.1: metrics name peers and addresses, so they stay on this machine unless
    /// <see cref="AllowNonLoopback"/> says otherwise. <see cref="IPAddress.Any"/> binds every IPv4 interface. IPv6
    /// addresses work on Windows only: elsewhere .NET's HttpListener, which the exporter uses, takes no IPv6 literal.
    /// </summary>
    public IPAddress ListenAddress { get; set; } = IPAddress.Loopback;

    /// <summary>The explicit opt-in to bind an address other than loopback.</summary>
    public bool AllowNonLoopback { get; set; }

    /// <summary>The scrape path. Default "/metrics".</summary>
    public string Path { get; set; } = "/metrics";

    /// <summary>The scrape URL this endpoint answers on (with the bound address; "0.0.0.0" for every interface).</summary>
    public Uri ScrapeUri => new UriBuilder(Uri.UriSchemeHttp, ListenAddress.ToString(), Port, Path).Uri;

    internal void Validate()
    {
        if (Port is < 1 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "Port must be 1..65535.");
        ArgumentNullException.ThrowIfNull(ListenAddress);
        // .NET's managed HttpListener (Linux, macOS) refuses IPv6 literals in its prefixes; HTTP.sys (Windows) takes them.
        if (ListenAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !OperatingSystem.IsWindows())
            throw new ArgumentException(
                $"The Prometheus endpoint binds IPv4 addresses on this platform, not {ListenAddress}: use 127.0.0.1 (or 0.0.0.0 with AllowNonLoopback).",
                nameof(ListenAddress));
        if (!IPAddress.IsLoopback(ListenAddress) && !AllowNonLoopback)
            throw new ArgumentException(
                $"Binding {ListenAddress} exposes the metrics beyond this machine; set AllowNonLoopback (-AllowRemote) to mean it.", nameof(ListenAddress));
        if (string.IsNullOrEmpty(Path) || Path[0] != '/')
            throw new ArgumentException("Path must start with '/'.", nameof(Path));
    }
}

/// <summary>An OTLP push exporter (OpenTelemetry.Exporter.OpenTelemetryProtocol) over HTTP with protobuf bodies.</summary>
public sealed class OtlpEndpointOptions
{
    /// <summary>
    /// The collector's OTLP/HTTP URL. A URL with no path ("http://collector:4318") gets the signal path
    /// "/v1/metrics" appended, as the OTLP specification says for a base endpoint; a URL with a path is used as is.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>How often metrics are pushed. Default 10 s; at least 100 ms.</summary>
    public TimeSpan ExportInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one export may take, and the bound on the final export when the exporter stops. Default 5 s.</summary>
    public TimeSpan ExportTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The URL exports are posted to.</summary>
    public Uri MetricsUri => Endpoint is null ? throw new InvalidOperationException("Endpoint is not set.")
        : Endpoint.AbsolutePath is "" or "/" ? new Uri(Endpoint, "/v1/metrics") : Endpoint;

    internal void Validate()
    {
        if (Endpoint is null)
            throw new ArgumentNullException(nameof(Endpoint), "Set the collector's OTLP/HTTP endpoint, for example http://127.0.0.1:4318.");
        if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"'{Endpoint}' is not an http or https URL.", nameof(Endpoint));
        if (ExportInterval < TimeSpan.FromMilliseconds(100))
            throw new ArgumentOutOfRangeException(nameof(ExportInterval), ExportInterval, "ExportInterval must be at least 100 ms.");
        if (ExportTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ExportTimeout), ExportTimeout, "ExportTimeout must be positive.");
    }
}
