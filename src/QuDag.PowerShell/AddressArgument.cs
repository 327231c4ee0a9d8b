using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace QuDag.PowerShell;

/// <summary>
/// The one place an address typed by a user becomes an endpoint: a multiaddr
/// ("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...", "/dns4/node.example/tcp/4001") or host:port ("127.0.0.1:9000",
/// "[::1]:9000", "host:9000"). Names resolve here, so an unknown host is "name not resolved: host" rather than a
/// socket error.
/// </summary>
public static class AddressArgument
{
    // Internal: a public type with a core field would make pwsh load the core before the module routes it to bin/deps.
    /// <summary>An address a user gave: where to dial, and the peer a multiaddr's /p2p part names.</summary>
    internal readonly record struct Parsed(EndPoint EndPoint, PeerId? PeerId);

    /// <summary>True when <paramref name="text"/> is written as a multiaddr.</summary>
    public static bool IsMultiaddr(string? text) => text?.TrimStart().StartsWith('/') == true;

    /// <summary>The endpoint, and the peer a multiaddr names, in <paramref name="text"/>.</summary>
    internal static Parsed ParseAddress(string? text)
    {
        var trimmed = (text ?? "").Trim();
        if (!IsMultiaddr(trimmed))
            return new Parsed(Parse(trimmed), null);
        Multiaddr address;
        try
        {
            address = Multiaddr.Parse(trimmed);
        }
        catch (QuDag.P2p.TransportNotSupportedException ex)
        {
            throw new QuDagArgumentException("TransportNotSupported", $"'{trimmed}': {ex.Message}");
        }
        catch (Exception ex) when (ex is FormatException or QuDag.P2p.P2pException)
        {
            throw new QuDagArgumentException("InvalidAddress", $"'{trimmed}' is not a multiaddr: {ex.Message}");
        }
        if (!address.TryGetEndPoint(out var endPoint))
            throw new QuDagArgumentException("InvalidAddress",
                $"'{trimmed}' names no TCP address: use /ip4/<address>/tcp/<port>, /ip6/..., or /dns4/<name>/tcp/<port>, optionally ending in /p2p/<peer id>.");
        return new Parsed(endPoint, address.PeerId);
    }

    /// <summary>The multiaddr text of an endpoint, ending in /p2p/&lt;id&gt; when the peer is given.</summary>
    internal static string? FormatMultiaddr(EndPoint? endPoint, PeerId? peer = null)
    {
        Multiaddr? address = endPoint switch
        {
            IPEndPoint ip => Multiaddr.FromEndPoint(ip),
            DnsEndPoint dns => Multiaddr.FromEndPoint(dns),
            _ => null,
        };
        return address is null ? null : (peer is { } id ? address.WithPeerId(id) : address).ToString();
    }

    /// <summary>The endpoint in <paramref name="text"/>, not yet resolved: an <see cref="IPEndPoint"/> or a <see cref="DnsEndPoint"/>.</summary>
    public static EndPoint Parse(string? text)
    {
        var trimmed = (text ?? "").Trim();
        if (IsMultiaddr(trimmed))
            return ParseAddress(trimmed).EndPoint;
        if (IPEndPoint.TryParse(trimmed, out var ip) && ip.Port != 0 && (trimmed.Contains(']') || trimmed.Count(c => c == ':') == 1))
            return ip;
        var colon = trimmed.LastIndexOf(':');
        if (colon > 0 && int.TryParse(trimmed.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && port is > 0 and <= 65535 && !trimmed.AsSpan(0, colon).Contains(':'))
            return new DnsEndPoint(trimmed[..colon], port);
        throw new QuDagArgumentException("InvalidAddress",
            $"'{trimmed}' is not an address: use a multiaddr such as /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW..., or host:port such as 127.0.0.1:9000, [::1]:9000 or localhost:9000.");
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
