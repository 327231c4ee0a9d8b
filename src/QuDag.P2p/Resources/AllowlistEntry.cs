using System.Net;
using System.Net.Sockets;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Resources;

/// <summary>
/// One allowlist entry: a network and, optionally, the one peer allowed from it. Written as go-libp2p's allowlist
/// takes it (<c>/ip4/1.2.3.4</c>, <c>/ip4/1.2.3.0/ipcidr/24</c>, <c>/ip6/2001:db8::/ipcidr/32</c>, any of them with
/// <c>/p2p/&lt;id&gt;</c>), or as plain CIDR or address text (<c>10.0.0.0/8</c>, <c>192.0.2.7</c>).
/// </summary>
public sealed record AllowlistEntry(IPNetwork Network, PeerId? Peer)
{
    /// <summary>Parses one entry.</summary>
    /// <exception cref="FormatException">Neither form, or a part out of range.</exception>
    public static AllowlistEntry Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        if (!t.StartsWith('/'))
        {
            if (IPNetwork.TryParse(t, out var network))
                return new AllowlistEntry(Normalized(network), null);
            if (IPAddress.TryParse(t, out var address))
                return new AllowlistEntry(HostNetwork(address), null);
            throw Bad(text, "not an address, a CIDR network or a multiaddr");
        }
        string[] parts = t.Split('/');
        // "", "ip4", addr, ["ipcidr", n], ["p2p", id]
        if (parts.Length < 3 || parts[1] is not ("ip4" or "ip6") || !IPAddress.TryParse(parts[2], out var ip)
            || (ip.AddressFamily == AddressFamily.InterNetwork) != (parts[1] == "ip4"))
            throw Bad(text, "a multiaddr entry starts with /ip4/<address> or /ip6/<address>");
        var result = HostNetwork(ip);
        int i = 3;
        if (i + 1 < parts.Length && parts[i] == "ipcidr")
        {
            int max = ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            if (!int.TryParse(parts[i + 1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int bits) || bits > max)
                throw Bad(text, $"/ipcidr takes a prefix length of 0 to {max}");
            result = Normalized(new IPNetwork(Masked(ip, bits), bits));
            i += 2;
        }
        PeerId? peer = null;
        if (i + 1 < parts.Length && parts[i] is "p2p" or "ipfs")
        {
            if (!PeerId.TryParse(parts[i + 1], out var id, out string? error))
                throw Bad(text, error);
            peer = id;
            i += 2;
        }
        if (i != parts.Length)
            throw Bad(text, "only /ipcidr and /p2p may follow the address");
        return new AllowlistEntry(result, peer);
    }

    /// <summary>True when <paramref name="address"/> is in the network (IPv4-mapped IPv6 counts as IPv4).</summary>
    public bool Contains(IPAddress address) => Network.Contains(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    public override string ToString()
    {
        string family = Network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? "ip4" : "ip6";
        int full = family == "ip4" ? 32 : 128;
        string text = $"/{family}/{Network.BaseAddress}" + (Network.PrefixLength == full ? "" : $"/ipcidr/{Network.PrefixLength}");
        return Peer is { } p ? $"{text}/p2p/{p}" : text;
    }

    /// <summary>An IPv4-mapped IPv6 network is the IPv4 network it maps: addresses are compared as IPv4.</summary>
    private static IPNetwork Normalized(IPNetwork network) =>
        network.BaseAddress.IsIPv4MappedToIPv6 && network.PrefixLength >= 96
            ? new IPNetwork(network.BaseAddress.MapToIPv4(), network.PrefixLength - 96)
            : network;

    private static IPNetwork HostNetwork(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        return new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
    }

    private static IPAddress Masked(IPAddress address, int bits)
    {
        byte[] bytes = address.GetAddressBytes();
        for (int b = 0; b < bytes.Length; b++)
        {
            int keep = Math.Clamp(bits - b * 8, 0, 8);
            bytes[b] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(bytes);
    }

    private static FormatException Bad(string text, string why) => new($"'{text}' is not an allowlist entry: {why}.");
}
