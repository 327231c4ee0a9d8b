using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace QuDag.P2p.Resources;

/// <summary>An address's subnet as one 128-bit key: IPv4 (also IPv4-mapped IPv6) masked to its prefix with a tag bit
/// that keeps it apart from every IPv6 key, IPv6 masked to its prefix.</summary>
internal static class SubnetKey
{
    public static UInt128 Of(IPAddress address, int ipv4Prefix, int ipv6Prefix)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            uint v4 = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            uint mask = ipv4Prefix >= 32 ? uint.MaxValue : ~(uint.MaxValue >> ipv4Prefix);
            // Bit 32 set: an IPv6 key masked to /64 or less has its low word zero, and a longer one its own address bits.
            return new UInt128(1, (1UL << 32) | (v4 & mask));
        }
        UInt128 v6 = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        UInt128 mask6 = ipv6Prefix >= 128 ? UInt128.MaxValue : ~(UInt128.MaxValue >> ipv6Prefix);
        return v6 & mask6;
    }

    /// <summary>The subnet in CIDR text, for messages.</summary>
    public static string Text(IPAddress address, int ipv4Prefix, int ipv6Prefix)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        int bits = address.AddressFamily == AddressFamily.InterNetwork ? ipv4Prefix : ipv6Prefix;
        byte[] bytes = address.GetAddressBytes();
        for (int b = 0; b < bytes.Length; b++)
            bytes[b] &= (byte)(0xFF << (8 - Math.Clamp(bits - b * 8, 0, 8)));
        return $"{new IPAddress(bytes)}/{bits}";
    }
}
