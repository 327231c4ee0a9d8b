using System.Management.Automation;
using System.Net;
using QuDag.Telemetry;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Exports the session's metrics through OpenTelemetry: a Prometheus scrape endpoint (-Prometheus), an OTLP/HTTP push
/// to a collector (-Otlp -Endpoint), or both. Loopback only unless -AllowRemote; stops with the session.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "QuDagMetricsExporter", SupportsShouldProcess = true)]
[OutputType(typeof(MetricsExporter))]
public sealed class StartQuDagMetricsExporterCommand : QuDagCmdlet
{
    /// <summary>Serve a Prometheus scrape endpoint at http://&lt;ListenAddress&gt;:&lt;Port&gt;/metrics.</summary>
    [Parameter]
    public SwitchParameter Prometheus { get; set; }

    /// <summary>The scrape endpoint's port. Default 9464.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = PrometheusEndpointOptions.DefaultPort;

    /// <summary>The address the scrape endpoint binds. Default 127.0.0.1; another address needs -AllowRemote.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>Allow a -ListenAddress other than loopback: the metrics name peers and addresses.</summary>
    [Parameter]
    public SwitchParameter AllowRemote { get; set; }

    /// <summary>Push to an OpenTelemetry collector over OTLP/HTTP (protobuf).</summary>
    [Parameter]
    public SwitchParameter Otlp { get; set; }

    /// <summary>The collector's OTLP/HTTP URL, such as http://127.0.0.1:4318 (/v1/metrics is added to a URL with no path).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Endpoint { get; set; }

    /// <summary>Seconds between OTLP pushes. Default 10.</summary>
    [Parameter]
    [Seconds(1, SecondsAttribute.Day)]
    public int ExportIntervalSeconds { get; set; } = 10;

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        if (!Prometheus && !Otlp)
        {
            Terminate(new ArgumentException("Choose an exporter: -Prometheus, -Otlp -Endpoint <url>, or both."), "NoExporter", ErrorCategory.InvalidArgument, null);
            return;
        }
        var options = new QuDagExporterOptions();
        if (Prometheus)
        {
            if (!IPAddress.TryParse(ListenAddress, out var address))
            {
                Terminate(new ArgumentException($"'{ListenAddress}' is not an IP address."), "InvalidAddress", ErrorCategory.InvalidArgument, ListenAddress);
                return;
            }
            options.Prometheus = new PrometheusEndpointOptions { Port = Port, ListenAddress = address, AllowNonLoopback = AllowRemote };
        }
        if (Otlp)
        {
            if (Endpoint is null || !Uri.TryCreate(Endpoint, UriKind.Absolute, out var endpoint))
            {
                Terminate(new ArgumentException($"-Otlp needs -Endpoint with an absolute http(s) URL, not '{Endpoint}'."), "InvalidEndpoint",
                    ErrorCategory.InvalidArgument, Endpoint);
                return;
            }
            options.Otlp = new OtlpEndpointOptions { Endpoint = endpoint, ExportInterval = TimeSpan.FromSeconds(ExportIntervalSeconds) };
        }
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            Terminate(ex, "InvalidArgument", ErrorCategory.InvalidArgument, null);
            return;
        }
        var session = CurrentSession;
        var target = string.Join(", ", new[] { options.Prometheus?.ScrapeUri.ToString(), options.Otlp?.MetricsUri.ToString() }.OfType<string>());
        if (!ShouldProcess($"session {session.Name}: {target}", "Export metrics"))
            return;
        try
        {
            WriteObject(session.StartExporter(options));
        }
        catch (ExporterPortInUseException ex)
        {
            Terminate(ex, "PortInUse", ErrorCategory.ResourceBusy, ex.Port);
        }
        catch (MetricsExporterException ex)
        {
            Terminate(ex, "Failed", ErrorCategory.OpenError, target);
        }
        catch (InvalidOperationException ex)
        {
            Terminate(ex, "AlreadyRunning", ErrorCategory.ResourceExists, session);
        }
    }

    private void Terminate(Exception exception, string problem, ErrorCategory category, object? target) =>
        ThrowTerminatingError(new ErrorRecord(exception, CommandId + problem, category, target));
}
