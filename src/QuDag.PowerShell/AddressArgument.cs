using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace QuDag.PowerShell;

/// <summary>
/// The one place an address typed by a user becomes an endpoint: "127.0.0.1:9000", "[::1]:9000", "host:9000".
/// Names resolve here, so an unknown host is "name not resolved: host" rather than a socket error. The libp2p
/// core swaps this parser (multiaddrs, "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...") and nothing else.
/// </summary>
public static class AddressArgument
{
    /// <summary>The endpoint in <paramref name="text"/>, not yet resolved: an <see cref="IPEndPoint"/> or a <see cref="DnsEndPoint"/>.</summary>
    public static EndPoint Parse(string? text)
    {
        var trimmed = (text ?? "").Trim();
        if (IPEndPoint.TryParse(trimmed, out var ip) && ip.Port != 0 && (trimmed.Contains(']') || trimmed.Count(c => c == ':') == 1))
            return ip;
        var colon = trimmed.LastIndexOf(':');
        if (colon > 0 && int.TryParse(trimmed.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && port is > 0 and <= 65535 && !trimmed.AsSpan(0, colon).Contains(':'))
            return new DnsEndPoint(trimmed[..colon], port);
        throw new QuDagArgumentException("InvalidAddress",
            $"'{trimmed}' is not an endpoint: use host:port, for example 127.0.0.1:9000, [::1]:9000 or localhost:9000.");
    }

    /// <summary>An IP endpoint for <paramref name="endPoint"/>: names resolve (IPv4 first), and an unknown name says so.</summary>
    public static async Task<IPEndPoint> ResolveAsync(EndPoint endPoint, CancellationToken cancellationToken)
    {
        if (endPoint is IPEndPoint ip)
            return ip;
        var dns = (DnsEndPoint)endPoint;
        return new IPEndPoint(await ResolveHostAsync(dns.Host, cancellationToken).ConfigureAwait(false), dns.Port);
    }

    /// <summary>An IP address for a host name or address text (IPv4 first, as "localhost" usually means).</summary>
    public static async Task<IPAddress> ResolveHostAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
            return literal;
        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            throw new QuDagArgumentException("NameNotResolved", $"name not resolved: {host}");
        }
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault() ?? throw new QuDagArgumentException("NameNotResolved", $"name not resolved: {host}");
    }

    /// <summary>The text form every output object carries.</summary>
    public static string? Format(EndPoint? endPoint) => endPoint switch
    {
        null => null,
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endPoint.ToString(),
    };
}
