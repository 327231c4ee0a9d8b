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

    /// <summary>
    /// The Noise transport's frame decoder and its in-place decryption, as the muxer reads it (lent plaintext). After the
    /// first byte: with its low bit clear, the bytes are the wire (frames of any length, nearly all failing authentication);
    /// set, they are plaintext cut into frames (each piece's length from one byte), sealed, then read back in pieces of
    /// other sizes, and must come back whole.
    /// </summary>
    public static void NoiseTransport(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
            return;
        byte[] key = new byte[NoiseCipherState.KeySize];
        key[0] = 7;
        bool sealedPlaintext = (data[0] & 1) == 1;
        byte[] body = data[1..].ToArray();
        byte[] wire = body;
        if (sealedPlaintext)
        {
            var sealedBytes = new MemoryStream();
            using (var writer = new NoiseStream(sealedBytes, new NoiseCipherState(key), new NoiseCipherState(key)))
            {
                for (int at = 0; at < body.Length;)
                {
                    int n = Math.Min(body.Length - at, 1 + body[at] * 3);
                    writer.Write(body, at, n);
                    at += n;
                }
                wire = sealedBytes.ToArray();
            }
        }
        using var reader = new NoiseStream(new MemoryStream(wire), new NoiseCipherState(key), new NoiseCipherState(key));
        IBufferedReadStream lender = reader;
        var received = new MemoryStream();
        try
        {
            for (int round = 0; ; round++)
            {
                ReadOnlyMemory<byte> lent = lender.ReadBufferedAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
                if (lent.IsEmpty)
                    break;
                int take = Math.Min(lent.Length, 1 + (round * 7919 % 5000));
                received.Write(lent.Span[..take]);
                lender.Consume(take);
            }
        }
        catch (P2pProtocolException) when (!sealedPlaintext)
        {
            return;
        }
        if (sealedPlaintext && !received.ToArray().AsSpan().SequenceEqual(body))
            throw new InvalidOperationException("Sealed Noise frames did not read back as the plaintext written.");
    }
}
