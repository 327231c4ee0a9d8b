using System.Buffers;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Identity;

/// <summary>
/// A multiaddr (multiaddr spec) limited to what this stack dials: <c>/ip4|ip6|dns|dns4|dns6/&lt;host&gt;/tcp/&lt;port&gt;</c>
/// with an optional <c>/p2p/&lt;peer id&gt;</c> (read also as <c>/ipfs</c>). An immutable value: equal when
/// the binary forms are. Other known protocols (udp, quic-v1, ws, p2p-circuit, ...) raise
/// <see cref="TransportNotSupportedException"/> naming them; unknown ones are malformed input.
/// </summary>
public sealed class Multiaddr : IEquatable<Multiaddr>
{
    /// <summary>The longest binary multiaddr read: a 255-byte host, a port and a peer id fit in well under this.</summary>
    public const int MaxBytes = 1024;

    /// <summary>The longest text read.</summary>
    public const int MaxTextLength = 2048;

    private readonly byte[] _bytes;
    private readonly int _hash;
    private string? _text;

    private Multiaddr(ImmutableArray<MultiaddrComponent> components)
    {
        Components = components;
        var writer = new ArrayBufferWriter<byte>(64);
        foreach (var c in components)
        {
            Varint.Write(writer, (ulong)c.Protocol.Code);
            if (c.Protocol.IsDns || c.Protocol == MultiaddrProtocol.P2p)
                Varint.Write(writer, (ulong)c.ValueBytes.Length);
            writer.Write(c.ValueBytes);
        }
        _bytes = writer.WrittenSpan.ToArray();
        var hash = new HashCode();
        hash.AddBytes(_bytes);
        _hash = hash.ToHashCode();
    }

    /// <summary>The components in order.</summary>
    public ImmutableArray<MultiaddrComponent> Components { get; }

    /// <summary>The peer id of a trailing <c>/p2p</c> component, or null.</summary>
    public PeerId? PeerId => Components is [.., var last] && last.Protocol == MultiaddrProtocol.P2p ? last.PeerId : null;

    /// <summary>A multiaddr of the given components; at least one.</summary>
    public static Multiaddr Create(params IEnumerable<MultiaddrComponent> components)
    {
        var array = components.ToImmutableArray();
        if (array.IsEmpty) throw new ArgumentException("A multiaddr has at least one component.", nameof(components));
        if (array.Any(c => c.Protocol is null)) throw new ArgumentException("A component is default(MultiaddrComponent).", nameof(components));
        return new Multiaddr(array);
    }

    /// <summary><c>/ip4|ip6/&lt;address&gt;/tcp/&lt;port&gt;</c> (a v4-mapped v6 address is written as ip4).</summary>
    public static Multiaddr FromEndPoint(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return new([MultiaddrComponent.Ip(endPoint.Address), MultiaddrComponent.Tcp(endPoint.Port)]);
    }

    /// <summary><c>/dns|dns4|dns6/&lt;host&gt;/tcp/&lt;port&gt;</c> by the end point's address family; an IP literal host becomes ip4/ip6.</summary>
    public static Multiaddr FromEndPoint(DnsEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (IPAddress.TryParse(endPoint.Host, out var address))
            return FromEndPoint(new IPEndPoint(address, endPoint.Port));
        return new([MultiaddrComponent.Dns(endPoint.Host, endPoint.AddressFamily), MultiaddrComponent.Tcp(endPoint.Port)]);
    }

    /// <summary>This address without a trailing <c>/p2p</c> component.</summary>
    public Multiaddr WithoutPeerId()
        => PeerId is null ? this : new Multiaddr(Components.RemoveAt(Components.Length - 1));

    /// <summary>This address ending in <c>/p2p/&lt;peerId&gt;</c>, replacing any peer id it carried.</summary>
    public Multiaddr WithPeerId(PeerId peerId)
        => PeerId == peerId ? this : new Multiaddr(WithoutPeerId().Components.Add(MultiaddrComponent.P2p(peerId)));

    /// <summary>
    /// The end point to dial: an <see cref="IPEndPoint"/> for <c>/ip4|ip6/…/tcp/…</c>, a <see cref="DnsEndPoint"/>
    /// for <c>/dns|dns4|dns6/…/tcp/…</c> (family Unspecified, InterNetwork or InterNetworkV6); optionally followed
    /// by <c>/p2p/…</c>. False for any other shape.
    /// </summary>
    public bool TryGetEndPoint([NotNullWhen(true)] out EndPoint? endPoint)
    {
        endPoint = null;
        int length = PeerId is null ? Components.Length : Components.Length - 1;
        if (length != 2 || Components[1].Protocol != MultiaddrProtocol.Tcp) return false;
        var host = Components[0];
        int port = Components[1].Port!.Value;
        if (host.Address is { } address) endPoint = new IPEndPoint(address, port);
        else if (host.Protocol == MultiaddrProtocol.Dns) endPoint = new DnsEndPoint(host.Value, port, AddressFamily.Unspecified);
        else if (host.Protocol == MultiaddrProtocol.Dns4) endPoint = new DnsEndPoint(host.Value, port, AddressFamily.InterNetwork);
        else if (host.Protocol == MultiaddrProtocol.Dns6) endPoint = new DnsEndPoint(host.Value, port, AddressFamily.InterNetworkV6);
        return endPoint is not null;
    }

    /// <summary>The binary form (each component: uvarint code, then its value).</summary>
    public byte[] ToBytes() => (byte[])_bytes.Clone();

    /// <summary>The text form; p2p values are base58btc, the old name ipfs is written p2p.</summary>
    public override string ToString() => _text ??= string.Concat(Components.Select(c => c.ToString()));

    // ---- text ----

    /// <summary>
    /// Parses the text form. Throws <see cref="TransportNotSupportedException"/> for a known protocol this
    /// stack does not speak and <see cref="FormatException"/> for malformed or unknown input.
    /// </summary>
    public static Multiaddr Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (address, error, unsupported) = ParseText(text);
        if (address is not null) return address;
        throw unsupported ? new TransportNotSupportedException(error!) : new FormatException(error);
    }

    /// <summary>Parses the text form; false with a reason a person can act on.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out Multiaddr? address, [NotNullWhen(false)] out string? error)
    {
        if (text is null)
        {
            (address, error) = (null, "A multiaddr is empty.");
            return false;
        }
        (address, error, _) = ParseText(text);
        return address is not null;
    }

    private static (Multiaddr? Address, string? Error, bool Unsupported) ParseText(string text)
    {
        if (text.Length == 0) return Fail("A multiaddr is empty.");
        if (text.Length > MaxTextLength) return Fail($"A multiaddr is at most {MaxTextLength} characters; this text has {text.Length}.");
        if (text[0] != '/') return Fail($"A multiaddr starts with '/', as in /ip4/127.0.0.1/tcp/4001: '{Shorten(text)}'.");
        // One trailing '/' is tolerated, as go-multiaddr does.
        string[] parts = text[1..(text.Length > 1 && text[^1] == '/' ? ^1 : ^0)].Split('/');
        var components = ImmutableArray.CreateBuilder<MultiaddrComponent>();
        for (int i = 0; i < parts.Length; i++)
        {
            string name = parts[i];
            var protocol = MultiaddrProtocol.FromName(name);
            if (protocol is null)
            {
                if (MultiaddrProtocol.NotSupportedMessage(name) is { } message) return (null, $"{message} ('{Shorten(text)}').", true);
                return Fail(name.Length == 0
                    ? $"A multiaddr has an empty protocol name: '{Shorten(text)}'."
                    : $"'/{Shorten(name)}' is not a multiaddr protocol ('{Shorten(text)}').");
            }
            if (++i == parts.Length) return Fail($"/{name} needs a value ('{Shorten(text)}').");
            string? error = TryParseValue(protocol, parts[i], out var component);
            if (error is not null) return Fail($"{error} ('{Shorten(text)}')");
            components.Add(component);
        }
        return (new Multiaddr(components.ToImmutable()), null, false);

        static (Multiaddr?, string?, bool) Fail(string error) => (null, error, false);
    }

    private static string? TryParseValue(MultiaddrProtocol protocol, string value, out MultiaddrComponent component)
    {
        component = default;
        if (protocol == MultiaddrProtocol.Ip4)
        {
            // IPAddress.Parse also reads "1", "0x7f.1" and "01.2.3.4"; a multiaddr holds the dotted quad only.
            if (!IPAddress.TryParse(value, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork || ip.ToString() != value)
                return $"/ip4 needs a dotted-quad IPv4 address such as 127.0.0.1, not '{Shorten(value)}'.";
            component = MultiaddrComponent.Ip(ip);
        }
        else if (protocol == MultiaddrProtocol.Ip6)
        {
            if (value.Contains('%'))
                return $"/ip6 cannot carry a zone ('{Shorten(value)}'); /ip6zone is not supported.";
            if (value.Contains('[') || !IPAddress.TryParse(value, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
                return $"/ip6 needs an IPv6 address such as ::1, not '{Shorten(value)}'.";
            component = MultiaddrComponent.FromValidated(MultiaddrProtocol.Ip6, ip.GetAddressBytes(), ip.ToString());
        }
        else if (protocol == MultiaddrProtocol.Tcp)
        {
            if (value.Length is 0 or > 5 || !value.All(char.IsAsciiDigit)
                || int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture) is var port && port > 65535)
                return $"/tcp needs a port from 0 to 65535, not '{Shorten(value)}'.";
            component = MultiaddrComponent.Tcp(port);
        }
        else if (protocol.IsDns)
        {
            if (MultiaddrComponent.ValidateHost(value) is { } error) return error;
            component = MultiaddrComponent.FromValidated(protocol, System.Text.Encoding.UTF8.GetBytes(value), value);
        }
        else
        {
            if (!Identity.PeerId.TryParse(value, out var peerId, out string? error))
                return $"/p2p needs a peer id: {error}";
            component = MultiaddrComponent.P2p(peerId);
        }
        return null;
    }

    // ---- bytes ----

    /// <summary>
    /// Reads the binary form; false for anything <see cref="FromBytes"/> refuses (a peer's identify may list
    /// addresses of transports we do not speak, which are skipped, not errors).
    /// </summary>
    public static bool TryFromBytes(ReadOnlySpan<byte> bytes, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Multiaddr? address)
    {
        try
        {
            address = FromBytes(bytes);
            return true;
        }
        catch (P2pException)
        {
            address = null;
            return false;
        }
    }

    /// <summary>
    /// Reads the binary form. Throws <see cref="TransportNotSupportedException"/> for a known protocol this
    /// stack does not speak and <see cref="P2pProtocolException"/> for malformed or unknown input.
    /// </summary>
    public static Multiaddr FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) throw new P2pProtocolException("A binary multiaddr is empty.");
        if (bytes.Length > MaxBytes) throw new P2pProtocolException($"A binary multiaddr is at most {MaxBytes} bytes, not {bytes.Length}.");
        var components = ImmutableArray.CreateBuilder<MultiaddrComponent>();
        while (!bytes.IsEmpty)
        {
            ulong code = Varint.Read(bytes, out int n);
            bytes = bytes[n..];
            var protocol = MultiaddrProtocol.FromCode(code)
                ?? throw (MultiaddrProtocol.NotSupportedMessage(code) is { } message
                    ? new TransportNotSupportedException(message + ".")
                    : new P2pProtocolException($"Multiaddr protocol code {code} (0x{code:x}) is unknown."));
            components.Add(ReadValue(protocol, ref bytes));
        }
        var address = new Multiaddr(components.ToImmutable());
        // Text is up to four times longer than bytes (/ip4/255.255.255.255 from 5 bytes): an address accepted here
        // must still be one Parse accepts, or it could be read but never written back as text.
        if (address.ToString().Length > MaxTextLength)
            throw new P2pProtocolException($"A binary multiaddr's text form is longer than the {MaxTextLength} characters allowed.");
        return address;
    }

    private static MultiaddrComponent ReadValue(MultiaddrProtocol protocol, ref ReadOnlySpan<byte> bytes)
    {
        if (protocol == MultiaddrProtocol.Ip4 || protocol == MultiaddrProtocol.Ip6 || protocol == MultiaddrProtocol.Tcp)
        {
            int size = protocol == MultiaddrProtocol.Ip4 ? 4 : protocol == MultiaddrProtocol.Ip6 ? 16 : 2;
            if (bytes.Length < size) throw new P2pProtocolException($"A binary multiaddr's /{protocol.Name} value is truncated.");
            var value = bytes[..size];
            bytes = bytes[size..];
            return protocol == MultiaddrProtocol.Tcp
                ? MultiaddrComponent.Tcp(value[0] << 8 | value[1])
                : MultiaddrComponent.Ip(new IPAddress(value)) is var ip && ip.Protocol == protocol
                    ? ip
                    // An ip6 holding a v4-mapped address stays ip6 in the binary form, byte for byte.
                    : MultiaddrComponent.FromValidated(protocol, value.ToArray(), new IPAddress(value).ToString());
        }
        ulong length = Varint.Read(bytes, out int n);
        bytes = bytes[n..];
        if (length > (ulong)bytes.Length) throw new P2pProtocolException($"A binary multiaddr's /{protocol.Name} value runs past its end.");
        var data = bytes[..(int)length];
        bytes = bytes[(int)length..];
        if (protocol.IsDns)
        {
            string host;
            try { host = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(data); }
            catch (System.Text.DecoderFallbackException) { throw new P2pProtocolException($"A binary multiaddr's /{protocol.Name} host is not UTF-8."); }
            if (MultiaddrComponent.ValidateHost(host) is { } error) throw new P2pProtocolException(error);
            return MultiaddrComponent.FromValidated(protocol, data.ToArray(), host);
        }
        if (!Identity.PeerId.TryFromBytes(data, out var peerId, out string? peerError))
            throw new P2pProtocolException($"A binary multiaddr's /p2p value is not a peer id: {peerError}");
        return MultiaddrComponent.P2p(peerId);
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";

    // ---- equality ----

    public bool Equals(Multiaddr? other) => other is not null && _hash == other._hash && _bytes.AsSpan().SequenceEqual(other._bytes);

    public override bool Equals(object? obj) => obj is Multiaddr other && Equals(other);

    public override int GetHashCode() => _hash;

    public static bool operator ==(Multiaddr? left, Multiaddr? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(Multiaddr? left, Multiaddr? right) => !(left == right);
}
