using System.Net;

namespace QuDag.Telemetry;

/// <summary>An exporter could not start.</summary>
public class MetricsExporterException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>The Prometheus endpoint's port is taken by another process (or another exporter of this one).</summary>
public sealed class ExporterPortInUseException(IPAddress address, int port, Exception? innerException = null)
    : MetricsExporterException($"Port {port} on {address} is already in use: stop what listens there, or choose another port.", innerException)
{
    /// <summary>The address the exporter tried to bind.</summary>
    public IPAddress Address { get; } = address;

    /// <summary>The port in use.</summary>
    public int Port { get; } = port;
}
