using QuDag.P2p.Security.Noise;
using QuDag.P2p.Security.Tls;

namespace QuDag.P2p.Security;

/// <summary>
/// Entry points for the fuzzer (QuDag.P2p.Fuzz) and the property tests: the decoders of remote-controlled
/// handshake data. Only the typed rejection is swallowed, so any other exception is a finding.
/// </summary>
internal static class SecurityFuzzEntry
{
    /// <summary>Decodes a Noise handshake payload and, when it parses, the identity key inside it.</summary>
    public static void NoisePayload(ReadOnlySpan<byte> data)
    {
        try
        {
            var payload = NoiseHandshakePayload.Decode(data);
            Identity.PublicKey.FromProtobuf(payload.IdentityKey);
        }
        catch (P2pProtocolException) { }
    }

    /// <summary>Decodes a libp2p TLS SignedKey extension value and the key inside it.</summary>
    public static void TlsSignedKeyExtension(ReadOnlySpan<byte> data)
    {
        try
        {
            var (key, _) = SignedKey.Decode(data.ToArray());
            Identity.PublicKey.FromProtobuf(key);
        }
        catch (P2pProtocolException) { }
    }
}
