using QuDag.P2p.Encoding;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Protocols.Gossipsub;
using QuDag.P2p.Protocols.Identify;
using QuDag.P2p.Protocols.Kad;
using QuDag.P2p.Resources;
using QuDag.P2p.Security;

namespace QuDag.P2p.Fuzz;

/// <summary>One decoder of untrusted input: bytes in, and anything but its documented typed rejection escapes as a finding.</summary>
public delegate void FuzzTarget(ReadOnlySpan<byte> input);

/// <summary>
/// The fuzz targets by name: each is one of QuDag.P2p's internal decoder entry points, which swallow exactly the
/// typed exceptions the decoder documents and check round trips where the decoder has an encoder. The names are
/// the folders of corpus/ and the first argument of the program and of fuzz.sh. Also compiled into
/// QuDag.P2p.Tests, which replays every corpus file through its target.
/// </summary>
public static class FuzzTargets
{
    public static readonly IReadOnlyDictionary<string, FuzzTarget> All = new Dictionary<string, FuzzTarget>(StringComparer.Ordinal)
    {
        ["varint"] = DecoderEntryPoints.Varint,
        ["public-key"] = DecoderEntryPoints.PublicKeyProtobuf,
        ["private-key"] = DecoderEntryPoints.PrivateKeyProtobuf,
        ["multiaddr-bytes"] = DecoderEntryPoints.MultiaddrBytes,
        ["multiaddr-text"] = DecoderEntryPoints.MultiaddrText,
        ["yamux-headers"] = YamuxFuzzEntry.Headers,
        ["yamux-frames-lent"] = YamuxFuzzEntry.FramesLent,
        ["noise-payload"] = SecurityFuzzEntry.NoisePayload,
        ["noise-transport"] = SecurityFuzzEntry.NoiseTransport,
        ["tls-signed-key"] = SecurityFuzzEntry.TlsSignedKeyExtension,
        ["multistream"] = ProtocolFuzzEntry.MultistreamMessages,
        ["identify"] = ProtocolFuzzEntry.IdentifyMessage,
        ["kad"] = KadFuzzEntry.Stream,
        ["gossipsub-rpc"] = GossipsubFuzzEntry.Rpcs,
        ["signed-peer-record"] = GossipsubFuzzEntry.PeerRecords,
        ["allowlist-entry"] = ResourcesFuzzEntry.AllowlistEntryText,
    };

    /// <summary>
    /// The types whose edges steer libFuzzer for each target (sharpfuzz instruments these prefixes of QuDag.P2p.dll):
    /// the decoder and what it calls on hostile bytes, not the whole stack.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> Instrumented = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["varint"] = ["QuDag.P2p.Encoding"],
        ["public-key"] = ["QuDag.P2p.Encoding", "QuDag.P2p.Identity"],
        ["private-key"] = ["QuDag.P2p.Encoding", "QuDag.P2p.Identity"],
        ["multiaddr-bytes"] = ["QuDag.P2p.Encoding", "QuDag.P2p.Identity"],
        ["multiaddr-text"] = ["QuDag.P2p.Encoding", "QuDag.P2p.Identity"],
        ["yamux-headers"] = ["QuDag.P2p.Muxing.Yamux"],
        ["yamux-frames-lent"] = ["QuDag.P2p.Muxing.Yamux"],
        ["noise-payload"] = ["QuDag.P2p.Encoding", "QuDag.P2p.Security", "QuDag.P2p.Identity"],
        ["noise-transport"] = ["QuDag.P2p.Security.Noise"],
        ["tls-signed-key"] = ["QuDag.P2p.Security", "QuDag.P2p.Identity"],
        ["multistream"] = ["QuDag.P2p.Upgrade.Multistream", "QuDag.P2p.Encoding"],
        ["identify"] = ["QuDag.P2p.Protocols.Identify", "QuDag.P2p.Encoding"],
        ["kad"] = ["QuDag.P2p.Protocols.Kad", "QuDag.P2p.Encoding", "QuDag.P2p.Identity"],
        ["gossipsub-rpc"] = ["QuDag.P2p.Protocols.Gossipsub", "QuDag.P2p.Encoding"],
        ["signed-peer-record"] = ["QuDag.P2p.Identity", "QuDag.P2p.Encoding"],
        ["allowlist-entry"] = ["QuDag.P2p.Resources", "QuDag.P2p.Identity"],
    };

    /// <summary>The target named <paramref name="name"/>, or an error listing the names.</summary>
    public static FuzzTarget Get(string name) => All.TryGetValue(name, out var target)
        ? target
        : throw new ArgumentException($"Unknown fuzz target '{name}'. Targets: {string.Join(", ", All.Keys)}.", nameof(name));
}
