using System.Collections.Frozen;

namespace QuDag.P2p.Identity;

/// <summary>
/// A multiaddr protocol this stack speaks (multiaddr spec, multicodec table): the addresses it can dial
/// (ip4, ip6, dns, dns4, dns6), the one transport (tcp) and the peer id (p2p, formerly ipfs).
/// </summary>
public sealed class MultiaddrProtocol
{
    private MultiaddrProtocol(string name, int code)
    {
        Name = name;
        Code = code;
    }

    public string Name { get; }

    /// <summary>The multicodec code written before the value in the binary form.</summary>
    public int Code { get; }

    public static MultiaddrProtocol Ip4 { get; } = new("ip4", 4);
    public static MultiaddrProtocol Tcp { get; } = new("tcp", 6);
    public static MultiaddrProtocol Ip6 { get; } = new("ip6", 41);
    public static MultiaddrProtocol Dns { get; } = new("dns", 53);
    public static MultiaddrProtocol Dns4 { get; } = new("dns4", 54);
    public static MultiaddrProtocol Dns6 { get; } = new("dns6", 55);
    public static MultiaddrProtocol P2p { get; } = new("p2p", 421);

    /// <summary>True for dns, dns4 and dns6, whose value is a host name.</summary>
    public bool IsDns => Code is 53 or 54 or 55;

    private static readonly MultiaddrProtocol[] All = [Ip4, Tcp, Ip6, Dns, Dns4, Dns6, P2p];

    private static readonly FrozenDictionary<string, MultiaddrProtocol> ByName =
        All.Select(p => KeyValuePair.Create(p.Name, p))
            .Append(KeyValuePair.Create("ipfs", P2p)) // the old name of p2p, still in old configs and bootstrap lists
            .ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<int, MultiaddrProtocol> ByCode = All.ToFrozenDictionary(p => p.Code);

    // Protocols of the multicodec table that are well formed but that this stack does not speak, so their
    // addresses get a precise "not supported" instead of "unknown". Transports first, then other address kinds.
    private static readonly (string Name, int Code, bool Transport)[] Unsupported =
    [
        ("udp", 273, true), ("dccp", 33, true), ("sctp", 132, true), ("udt", 301, true), ("utp", 302, true),
        ("quic", 460, true), ("quic-v1", 461, true), ("webtransport", 465, true), ("certhash", 466, true),
        ("ws", 477, true), ("wss", 478, true), ("tls", 448, true), ("sni", 449, true), ("noise", 454, true),
        ("http", 480, true), ("https", 443, true), ("http-path", 481, true), ("p2p-circuit", 290, true),
        ("webrtc-direct", 280, true), ("webrtc", 281, true), ("p2p-webrtc-star", 275, true),
        ("p2p-webrtc-direct", 276, true), ("p2p-stardust", 277, true), ("p2p-websocket-star", 479, true),
        ("memory", 777, true), ("plaintextv2", 7367777, true),
        ("ip6zone", 42, false), ("ipcidr", 43, false), ("dnsaddr", 56, false), ("unix", 400, false),
        ("onion", 444, false), ("onion3", 445, false), ("garlic64", 446, false), ("garlic32", 447, false),
    ];

    private static readonly FrozenDictionary<string, (string Name, bool Transport)> UnsupportedByName =
        Unsupported.ToFrozenDictionary(u => u.Name, u => (u.Name, u.Transport), StringComparer.Ordinal);

    private static readonly FrozenDictionary<int, (string Name, bool Transport)> UnsupportedByCode =
        Unsupported.ToFrozenDictionary(u => u.Code, u => (u.Name, u.Transport));

    internal static MultiaddrProtocol? FromName(string name) => ByName.GetValueOrDefault(name);

    internal static MultiaddrProtocol? FromCode(ulong code) => code <= int.MaxValue ? ByCode.GetValueOrDefault((int)code) : null;

    /// <summary>The "not supported" message for a known protocol we do not speak, or null when it is not known.</summary>
    internal static string? NotSupportedMessage(string name)
        => UnsupportedByName.TryGetValue(name, out var u) ? Message(u) : null;

    internal static string? NotSupportedMessage(ulong code)
        => code <= int.MaxValue && UnsupportedByCode.TryGetValue((int)code, out var u) ? Message(u) : null;

    private static string Message((string Name, bool Transport) u) => u.Transport
        ? $"transport /{u.Name} is not supported; QuDag.PS speaks /tcp only"
        : $"address /{u.Name} is not supported; QuDag.PS dials /ip4, /ip6, /dns, /dns4 or /dns6 over /tcp";

    public override string ToString() => "/" + Name;
}
