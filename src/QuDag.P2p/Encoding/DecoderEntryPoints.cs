using QuDag.P2p.Identity;

namespace QuDag.P2p.Encoding;

/// <summary>
/// One entry per decoder of untrusted input, for fuzzers (QuDag.P2p.Fuzz) and property tests: each runs
/// the decoder and swallows exactly the typed exceptions it documents. Anything else escapes on purpose:
/// an IndexOutOfRange, an ArgumentException or an OverflowException from hostile bytes is a bug.
/// </summary>
internal static class DecoderEntryPoints
{
    public static void Varint(ReadOnlySpan<byte> input)
    {
        try
        {
            if (Encoding.Varint.TryRead(input, out ulong value) is > 0 and var n)
            {
                // What was read must write back to the same bytes (the reader accepts minimal encodings only).
                Span<byte> again = stackalloc byte[Encoding.Varint.MaxLength];
                if (!again[..Encoding.Varint.Write(again, value)].SequenceEqual(input[..n]))
                    throw new InvalidOperationException("A varint did not round-trip.");
            }
        }
        catch (P2pProtocolException) { }
    }

    public static void PublicKeyProtobuf(ReadOnlySpan<byte> input)
    {
        try
        {
            var key = PublicKey.FromProtobuf(input);
            _ = key.ToPeerId();
            _ = key.Verify(input, input);
        }
        catch (P2pProtocolException) { }
    }

    public static void PrivateKeyProtobuf(ReadOnlySpan<byte> input)
    {
        try { NodeIdentity.FromProtobuf(input).Dispose(); }
        catch (P2pProtocolException) { }
    }

    public static void MultiaddrBytes(ReadOnlySpan<byte> input)
    {
        try
        {
            var address = Multiaddr.FromBytes(input);
            if (!Multiaddr.FromBytes(address.ToBytes()).Equals(address) || !Multiaddr.Parse(address.ToString()).Equals(address))
                throw new InvalidOperationException($"Multiaddr {address} did not round-trip.");
        }
        catch (P2pException) { }
    }

    public static void MultiaddrText(ReadOnlySpan<byte> input)
    {
        string text = System.Text.Encoding.UTF8.GetString(input);
        try
        {
            var address = Multiaddr.Parse(text);
            if (!Multiaddr.Parse(address.ToString()).Equals(address) || !Multiaddr.FromBytes(address.ToBytes()).Equals(address))
                throw new InvalidOperationException($"Multiaddr {address} did not round-trip.");
        }
        catch (P2pException) { }
        catch (FormatException) { }
    }
}
