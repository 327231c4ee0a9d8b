using System.Net;
using System.Net.Sockets;

namespace QuDag.P2p.Identity;

/// <summary>One protocol and its value in a <see cref="Multiaddr"/>, for example <c>/tcp/4001</c>.</summary>
public readonly struct MultiaddrComponent : IEquatable<MultiaddrComponent>
{
    private readonly byte[] _value;

    private MultiaddrComponent(MultiaddrProtocol protocol, byte[] value, string text)
    {
        Protocol = protocol;
        _value = value;
        Value = text;
    }

    public MultiaddrProtocol Protocol { get; }

    /// <summary>The value as text: an address, a port, a host name or a base58 peer id.</summary>
    public string Value { get; }

    /// <summary>The value's binary form (without the protocol code and without a length prefix).</summary>
    public ReadOnlySpan<byte> ValueBytes => _value;

    /// <summary>The address of an ip4 or ip6 component.</summary>
    public IPAddress? Address => Protocol == MultiaddrProtocol.Ip4 || Protocol == MultiaddrProtocol.Ip6 ? new IPAddress(_value) : null;

    /// <summary>The port of a tcp component.</summary>
    public int? Port => Protocol == MultiaddrProtocol.Tcp ? _value[0] << 8 | _value[1] : null;

    /// <summary>The peer id of a p2p component.</summary>
    public PeerId? PeerId => Protocol == MultiaddrProtocol.P2p ? Identity.PeerId.FromBytes(_value) : null;

    // TryFormat, not ToString: ToString caches its text in the address, and the address here is often a socket's, kept
    // for the connection's life (the observed address of every identify answer: 40 B per connection).
    private static string Text(IPAddress address)
    {
        Span<char> text = stackalloc char[15]; // "255.255.255.255"
        return address.TryFormat(text, out int written) ? new string(text[..written]) : address.ToString();
    }

    public static MultiaddrComponent Ip(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        // A v4-mapped v6 address is an IPv4 peer reached through a dual-mode socket; go-multiaddr writes it as ip4.
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => new(MultiaddrProtocol.Ip4, address.GetAddressBytes(), Text(address)),
            // The scope id (an interface) has no place here; multiaddr would need /ip6zone, which we do not speak.
            AddressFamily.InterNetworkV6 => new(MultiaddrProtocol.Ip6, address.GetAddressBytes(), new IPAddress(address.GetAddressBytes()).ToString()),
            _ => throw new ArgumentException($"{address.AddressFamily} is not an IP address family.", nameof(address)),
        };
    }

    public static MultiaddrComponent Tcp(int port)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return new(MultiaddrProtocol.Tcp, [(byte)(port >> 8), (byte)port], port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>A dns (any family), dns4 or dns6 component, by <paramref name="family"/> (Unspecified, InterNetwork, InterNetworkV6).</summary>
    public static MultiaddrComponent Dns(string host, AddressFamily family = AddressFamily.Unspecified)
    {
        var protocol = family switch
        {
            AddressFamily.Unspecified => MultiaddrProtocol.Dns,
            AddressFamily.InterNetwork => MultiaddrProtocol.Dns4,
            AddressFamily.InterNetworkV6 => MultiaddrProtocol.Dns6,
            _ => throw new ArgumentException($"{family} is not an IP address family.", nameof(family)),
        };
        string? error = ValidateHost(host);
        if (error is not null) throw new ArgumentException(error, nameof(host));
        return new(protocol, System.Text.Encoding.UTF8.GetBytes(host), host);
    }

    public static MultiaddrComponent P2p(PeerId peerId)
    {
        if (!peerId.IsValid) throw new ArgumentException("The peer id is default(PeerId).", nameof(peerId));
        return new(MultiaddrProtocol.P2p, peerId.Bytes.ToArray(), peerId.ToString());
    }

    /// <summary>The longest host name: DNS allows 253 characters; UTF-8 names may take a few more bytes.</summary>
    internal const int MaxHostBytes = 255;

    internal static string? ValidateHost(string host)
    {
        if (string.IsNullOrEmpty(host)) return "A dns host name is empty.";
        if (host.Contains('/')) return $"A dns host name cannot contain '/': '{host}'.";
        if (System.Text.Encoding.UTF8.GetByteCount(host) > MaxHostBytes) return $"A dns host name is longer than {MaxHostBytes} bytes.";
        return null;
    }

    internal static MultiaddrComponent FromValidated(MultiaddrProtocol protocol, byte[] value, string text) => new(protocol, value, text);

    public bool Equals(MultiaddrComponent other)
        => ReferenceEquals(Protocol, other.Protocol) && ValueBytes.SequenceEqual(other.ValueBytes);

    public override bool Equals(object? obj) => obj is MultiaddrComponent other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Protocol?.Code);
        hash.AddBytes(ValueBytes);
        return hash.ToHashCode();
    }

    public static bool operator ==(MultiaddrComponent left, MultiaddrComponent right) => left.Equals(right);

    public static bool operator !=(MultiaddrComponent left, MultiaddrComponent right) => !left.Equals(right);

    public override string ToString() => Protocol is null ? "" : $"/{Protocol.Name}/{Value}";
}
