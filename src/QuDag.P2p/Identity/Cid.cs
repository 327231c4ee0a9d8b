using System.Diagnostics.CodeAnalysis;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Identity;

/// <summary>
/// The CIDv1 text form of a peer id (peer-id spec): a multibase prefix, version 1, the libp2p-key codec
/// (0x72), then the multihash. Written as base32 ('b', the spec's default); read from base32 in either case
/// ('b', 'B') and from base58btc ('z').
/// </summary>
internal static class Cid
{
    private const byte Version1 = 0x01;
    private const byte Libp2pKeyCodec = 0x72;

    /// <summary>Longer text cannot hold a peer id (at most a 44-byte multihash) and would only cost time.</summary>
    public const int MaxTextLength = 128;

    public static string FormatLibp2pKey(ReadOnlySpan<byte> multihash)
    {
        var cid = new byte[2 + multihash.Length];
        cid[0] = Version1;
        cid[1] = Libp2pKeyCodec;
        multihash.CopyTo(cid.AsSpan(2));
        return "b" + Base32.Encode(cid);
    }

    public static bool TryParseLibp2pKey(string text, [NotNullWhen(true)] out byte[]? multihash, [NotNullWhen(false)] out string? error)
    {
        multihash = null;
        if (text.Length is < 2 or > MaxTextLength)
        {
            error = $"A CID peer id is 2 to {MaxTextLength} characters, not {text.Length}.";
            return false;
        }
        ReadOnlySpan<char> body = text.AsSpan(1);
        byte[]? cid = text[0] switch
        {
            'b' => Base32.TryDecode(body, out var lower) ? lower : null,
            'B' => Base32.TryDecode(body.ToString().ToLowerInvariant(), out var upper) ? upper : null,
            'z' => Base58.TryDecode(body, out var base58) ? base58 : null,
            _ => null,
        };
        if (cid is null)
        {
            error = text[0] is 'b' or 'B' or 'z'
                ? $"The text after the multibase prefix '{text[0]}' is not valid {(text[0] == 'z' ? "base58btc" : "base32")}."
                : $"'{text[0]}' is not a supported multibase prefix (b or B for base32, z for base58btc).";
            return false;
        }
        ulong version, codec;
        int versionLength, codecLength;
        try
        {
            version = Varint.Read(cid, out versionLength);
            codec = Varint.Read(cid.AsSpan(versionLength), out codecLength);
        }
        catch (P2pProtocolException ex)
        {
            error = $"The CID is malformed: {ex.Message}";
            return false;
        }
        if (version != Version1)
        {
            error = $"The CID has version {version}; a peer id is a CIDv1.";
            return false;
        }
        if (codec != Libp2pKeyCodec)
        {
            error = $"The CID's codec is 0x{codec:x}, not libp2p-key (0x72).";
            return false;
        }
        multihash = cid[(versionLength + codecLength)..];
        error = null;
        return true;
    }
}
