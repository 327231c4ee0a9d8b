using QuDag.P2p.Identity;

namespace QuDag.P2p.Tests.Interop;

/// <summary>How to start a js-libp2p node (tests/interop/node.mjs); each member maps to one flag.</summary>
public sealed record JsNodeOptions
{
    /// <summary>Security protocols in order of preference: "noise", "tls", "noise,tls" or "tls,noise".</summary>
    public string Security { get; init; } = "noise";

    /// <summary>Multiaddrs to listen on (e.g. /ip4/127.0.0.1/tcp/0); empty makes a dial-only node.</summary>
    public IReadOnlyList<string> Listen { get; init; } = [];

    /// <summary>The protocolVersion js announces through identify.</summary>
    public string IdentifyProtocolVersion { get; init; } = "/qudag/1.0.0";

    /// <summary>The agentVersion js announces through identify.</summary>
    public string Agent { get; init; } = "qudag-interop-js/1.0.0";

    /// <summary>A fixed Ed25519 identity (32-byte seed); null lets js make an ephemeral one.</summary>
    public byte[]? Ed25519Seed { get; init; }

    /// <summary>Inbound and outbound streams per connection js allows (yamux and each handler); js's yamux default is 1,000.</summary>
    public int MaxStreams { get; init; } = 4096;

    /// <summary>
    /// js's connection monitor (a ping per connection every 10 s): "log" (default) pings and logs failures,
    /// "abort" closes a connection whose ping fails (js's own default), "off" sends no pings.
    /// </summary>
    public string ConnectionMonitor { get; init; } = "log";

    /// <summary>
    /// js-libp2p's DEBUG namespaces, logged to stderr (which failure messages include); "libp2p:*:error" by
    /// default, "libp2p:*" for everything, "" for nothing.
    /// </summary>
    public string Debug { get; init; } = "libp2p:*:error";

    /// <summary>
    /// A bound against a node that hangs, never a pace: the first start on a fresh clone compiles js-libp2p (an empty
    /// NODE_COMPILE_CACHE), which under load took more than the 20 s this once was and failed every test of a class.
    /// </summary>
    public static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromSeconds(90);

    /// <summary>How long to wait for the node's "ready" line.</summary>
    public TimeSpan StartTimeout { get; init; } = DefaultStartTimeout;

    /// <summary>A node listening on an ephemeral loopback TCP port.</summary>
    public static JsNodeOptions Listener(string security = "noise") =>
        new() { Security = security, Listen = ["/ip4/127.0.0.1/tcp/0"] };

    /// <summary>A dial-only node.</summary>
    public static JsNodeOptions Dialer(string security = "noise") => new() { Security = security };

    /// <summary>The libp2p PrivateKey protobuf js takes with --key: Type = Ed25519 (1), Data = seed ‖ public key.</summary>
    internal string? KeyProtobufHex()
    {
        if (Ed25519Seed is null)
            return null;
        if (Ed25519Seed.Length != 32)
            throw new ArgumentException("An Ed25519 seed is 32 bytes.", nameof(Ed25519Seed));
        using var identity = NodeIdentity.FromEd25519Seed(Ed25519Seed);
        byte[] protobuf = [0x08, 0x01, 0x12, 0x40, .. Ed25519Seed, .. identity.PublicKey.Data];
        return Convert.ToHexStringLower(protobuf);
    }

    internal IEnumerable<string> ToArguments()
    {
        yield return "--security";
        yield return Security;
        foreach (string address in Listen)
        {
            yield return "--listen";
            yield return address;
        }
        yield return "--identify-protocol-version";
        yield return IdentifyProtocolVersion;
        yield return "--agent";
        yield return Agent;
        yield return "--max-streams";
        yield return MaxStreams.ToString(System.Globalization.CultureInfo.InvariantCulture);
        yield return "--connection-monitor";
        yield return ConnectionMonitor;
        if (KeyProtobufHex() is { } key)
        {
            yield return "--key";
            yield return key;
        }
    }
}
