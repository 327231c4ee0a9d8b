using OpenTelemetry.Metrics;
using QuDag.Network;

namespace QuDag.Telemetry;

/// <summary>
/// A running export of one <see cref="ConnectionManager"/>'s metrics (its <c>QuDag.Network</c> meter) through
/// OpenTelemetry. Dispose it to stop: the Prometheus endpoint closes its port and OTLP pushes a last export.
/// </summary>
public sealed class MetricsExporter : IDisposable, IAsyncDisposable
{
    private readonly MeterProvider _provider;
    private int _disposed;

    internal MetricsExporter(MeterProvider provider, PeerId peerId, QuDagExporterOptions options, DateTimeOffset startedAt)
    {
        _provider = provider;
        PeerId = peerId;
        Options = options;
        StartedAt = startedAt;
    }

    /// <summary>The node whose metrics are exported (its <c>service.instance.id</c>).</summary>
    public PeerId PeerId { get; }

    /// <summary>The settings it runs with.</summary>
    public QuDagExporterOptions Options { get; }

    /// <summary>Where Prometheus scrapes, or null.</summary>
    public Uri? PrometheusEndpoint => Options.Prometheus?.ScrapeUri;

    /// <summary>Where OTLP exports go, or null.</summary>
    public Uri? OtlpEndpoint => Options.Otlp?.MetricsUri;

    /// <summary>When it started.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>False once stopped.</summary>
    public bool IsRunning => Volatile.Read(ref _disposed) == 0;

    /// <summary>Pushes OTLP metrics now (Prometheus is pulled, so it needs nothing); false when it timed out or failed.</summary>
    public bool Flush(TimeSpan timeout) =>
        IsRunning && _provider.ForceFlush((int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue));

    /// <summary>Stops exporting: closes the scrape port and pushes a last OTLP export (bounded by its export timeout).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            _provider.Dispose();
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        // MeterProvider shuts down synchronously; off the caller's thread, an OTLP flush does not block it.
        return IsRunning ? new ValueTask(Task.Run(Dispose)) : ValueTask.CompletedTask;
    }

    /// <summary>"prometheus http://127.0.0.1:9464/metrics, otlp http://…/v1/metrics".</summary>
    public override string ToString() => string.Join(", ",
        new[] { PrometheusEndpoint is { } p ? $"prometheus {p}" : null, OtlpEndpoint is { } o ? $"otlp {o}" : null }.OfType<string>());
}
