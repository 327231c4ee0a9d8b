namespace QuDag.P2p.Muxing.Yamux;

/// <summary>The fuzzer's way into the header decoder: anything but a protocol error is a finding.</summary>
internal static class YamuxFuzzEntry
{
    public static void Headers(ReadOnlySpan<byte> data)
    {
        Span<byte> again = stackalloc byte[YamuxHeader.Size];
        while (data.Length >= YamuxHeader.Size)
        {
            try
            {
                YamuxHeader header = YamuxHeader.Read(data);
                header.Write(again);
                // Flags are kept verbatim, so a decoded header must re-encode to the same bytes.
                if (!again.SequenceEqual(data[..YamuxHeader.Size]))
                    throw new InvalidOperationException("A yamux header did not round-trip.");
            }
            catch (P2pProtocolException)
            {
            }
            data = data[YamuxHeader.Size..];
        }
        if (!data.IsEmpty)
        {
            try { YamuxHeader.Read(data); }
            catch (P2pProtocolException) { }
        }
    }
}
