using System.Net;

namespace QuDag.P2p.Resources;

/// <summary>
/// Limits on inbound connections per subnet, so that one host (or one /64) cannot take every slot: how many it may
/// hold open, and how fast it may open new ones (a token bucket: <see cref="Burst"/> at once, then
/// <see cref="ConnectionsPerSecond"/>). Defaults follow go-libp2p (8 per /32, 0.2/s after a burst of 16); IPv6 counts
/// per /64, the block one host usually holds whole. Loopback is exempt from the count and the rate by default, as in
/// go; the pending-handshake count (the host's MaxPendingInboundUpgradesPerAddress) applies to every address.
/// </summary>
public sealed record InboundSubnetLimits
{
    public int IPv4PrefixLength { get; init; } = 32;

    public int IPv6PrefixLength { get; init; } = 64;

    /// <summary>Inbound connections one subnet may hold open (pending and established).</summary>
    public int MaxConnectionsPerSubnet { get; init; } = 8;

    /// <summary>New inbound connections a subnet may open per second once its burst is spent; 0 turns the rate off.</summary>
    public double ConnectionsPerSecond { get; init; } = 0.2;

    /// <summary>New inbound connections a subnet may open at once.</summary>
    public int Burst { get; init; } = 16;

    /// <summary>Networks (CIDR text) exempt from the count and the rate.</summary>
    public IReadOnlyList<string> Exempt { get; init; } = ["127.0.0.0/8", "::1/128"];

    public void Validate()
    {
        if (IPv4PrefixLength is < 1 or > 32)
            throw new ArgumentOutOfRangeException(nameof(IPv4PrefixLength), IPv4PrefixLength, "IPv4PrefixLength must be 1 to 32.");
        if (IPv6PrefixLength is < 1 or > 128)
            throw new ArgumentOutOfRangeException(nameof(IPv6PrefixLength), IPv6PrefixLength, "IPv6PrefixLength must be 1 to 128.");
        if (MaxConnectionsPerSubnet < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxConnectionsPerSubnet), MaxConnectionsPerSubnet, "MaxConnectionsPerSubnet must be at least 1.");
        if (ConnectionsPerSecond < 0 || double.IsNaN(ConnectionsPerSecond))
            throw new ArgumentOutOfRangeException(nameof(ConnectionsPerSecond), ConnectionsPerSecond, "ConnectionsPerSecond cannot be negative.");
        if (Burst < 1)
            throw new ArgumentOutOfRangeException(nameof(Burst), Burst, "Burst must be at least 1.");
        foreach (var network in Exempt)
        {
            if (!IPNetwork.TryParse(network, out _))
                throw new FormatException($"'{network}' in InboundSubnets.Exempt is not a CIDR network such as 127.0.0.0/8.");
        }
    }
}
