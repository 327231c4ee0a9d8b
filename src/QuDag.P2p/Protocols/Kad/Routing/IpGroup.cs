using System.Net;
using System.Net.Sockets;

namespace QuDag.P2p.Protocols.Kad.Routing;

/// <summary>
/// Where an address sits, for the routing table's diversity rule and for which addresses a peer may point us at. The
/// groups are go-libp2p's diversity filter's: an IPv4 /16, an IPv6 /32; loopback and private addresses are in no group
/// (diversity guards the public internet against one operator's many ids, not a lab or a LAN).
/// </summary>
public static class IpGroup
{
    /// <summary>How far an address reaches, narrowest first.</summary>
    public enum Scope
    {
        Loopback = 0,
        Private = 1,
        Public = 2,
    }

    /// <summary>The scope of <paramref name="address"/> (v4-mapped v6 is read as v4).</summary>
    public static Scope ScopeOf(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address))
            return Scope.Loopback;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            bool isPrivate = b[0] == 10 || b[0] == 0 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168)
                || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && (b[1] & 0xC0) == 64);
            return isPrivate ? Scope.Private : Scope.Public;
        }
        Span<byte> v6 = stackalloc byte[16];
        address.TryWriteBytes(v6, out _);
        bool private6 = (v6[0] & 0xFE) == 0xFC || (v6[0] == 0xFE && (v6[1] & 0xC0) == 0x80) || address.Equals(IPAddress.IPv6Any);
        return private6 ? Scope.Private : Scope.Public;
    }

    /// <summary>The diversity group of a public address ("v4:a.b", "v6:xxxx:xxxx"), or null for loopback and private ones.</summary>
    public static string? GroupOf(IPAddress? address)
    {
        if (address is null || ScopeOf(address) != Scope.Public)
            return null;
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out int n);
        return n == 4 ? $"v4:{b[0]}.{b[1]}" : $"v6:{b[0]:x2}{b[1]:x2}:{b[2]:x2}{b[3]:x2}";
    }
}
