using System.Globalization;
using System.Management.Automation;
using System.Net;

namespace QuDag.PowerShell;

/// <summary>
/// Lets -Endpoint take "127.0.0.1:9000", "[::1]:9000", "host:9000", an <see cref="EndPoint"/>, or an object
/// whose Endpoint/LocalEndPoint property is one (the output of Start-QuDagListener).
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class EndpointTransformationAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc/>
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        return value switch
        {
            null => null,
            EndPoint endPoint => endPoint,
            string text => Parse(text),
            QuDagListener listener => listener.Endpoint,
            _ => Parse(value.ToString() ?? ""),
        };
    }

    internal static EndPoint Parse(string text)
    {
        text = text.Trim();
        if (IPEndPoint.TryParse(text, out var ip) && ip.Port != 0 && (text.Contains(']') || text.Count(c => c == ':') == 1))
            return ip;
        var colon = text.LastIndexOf(':');
        if (colon > 0 && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && port is > 0 and <= 65535 && !text.AsSpan(0, colon).Contains(':'))
            return new DnsEndPoint(text[..colon], port);
        throw new ArgumentTransformationMetadataException(
            $"'{text}' is not an endpoint: use host:port, for example 127.0.0.1:9000, [::1]:9000 or localhost:9000.");
    }
}
