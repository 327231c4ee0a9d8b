using System.Diagnostics.CodeAnalysis;

namespace QuDag.P2p.Identity;

/// <summary>The CIDv1 text form of a peer id (peer-id spec): multibase base32 'b', version 1, codec libp2p-key (0x72).</summary>
internal static class Cid
{
    public static bool TryParseLibp2pKey(string text, [NotNullWhen(true)] out byte[]? multihash, [NotNullWhen(false)] out string? error)
    {
        // Implemented with the rest of Identity (see the identity work); until then every CID is refused.
        multihash = null;
        error = "CIDv1 peer ids are not supported yet.";
        return false;
    }
}
