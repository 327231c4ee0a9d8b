using System.Buffers;

namespace QuDag.P2p.Encoding;

/// <summary>
/// Unsigned LEB128 varints as multiformats' unsigned-varint spec defines them: at most 9 bytes (63 bits),
/// minimally encoded. Every libp2p length prefix (multistream, identify, multiaddr, keys) uses them.
/// </summary>
public static class Varint
{
    /// <summary>The longest varint the spec allows.</summary>
    public const int MaxLength = 9;

    /// <summary>The largest value that fits the spec's 9 bytes (2^63 - 1).</summary>
    public const ulong MaxValue = long.MaxValue;

    /// <summary>How many bytes <paramref name="value"/> takes.</summary>
    public static int SizeOf(ulong value)
    {
        int n = 1;
        while (value >= 0x80) { value >>= 7; n++; }
        return n;
    }

    /// <summary>
    /// Writes <paramref name="value"/> and returns the bytes written. Values past <see cref="MaxValue"/> would
    /// take a 10th byte that every reader (ours included) refuses, so they are refused here.
    /// </summary>
    public static int Write(Span<byte> destination, ulong value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxValue);
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Writes <paramref name="value"/> to a buffer writer.</summary>
    public static void Write(IBufferWriter<byte> writer, ulong value)
    {
        var span = writer.GetSpan(MaxLength);
        writer.Advance(Write(span, value));
    }

    /// <summary>
    /// Reads a varint. Returns the bytes consumed, 0 when <paramref name="source"/> ends before the varint
    /// does, and throws <see cref="P2pProtocolException"/> for one that is too long or not minimal.
    /// </summary>
    public static int TryRead(ReadOnlySpan<byte> source, out ulong value)
    {
        value = 0;
        for (int i = 0; i < source.Length; i++)
        {
            if (i == MaxLength)
                throw new P2pProtocolException("A varint is longer than 9 bytes.");
            byte b = source[i];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                if (b == 0 && i > 0)
                    throw new P2pProtocolException("A varint is not minimally encoded.");
                return i + 1;
            }
        }
        if (source.Length >= MaxLength)
            throw new P2pProtocolException("A varint is longer than 9 bytes.");
        value = 0;
        return 0;
    }

    /// <summary>Reads a varint that must be complete; throws <see cref="P2pProtocolException"/> otherwise.</summary>
    public static ulong Read(ReadOnlySpan<byte> source, out int consumed)
    {
        consumed = TryRead(source, out ulong value);
        if (consumed == 0)
            throw new P2pProtocolException("A varint is truncated.");
        return value;
    }

    /// <summary>
    /// Reads one varint from a stream a byte at a time (used only where a message boundary matters, such
    /// as multistream-select, so no byte past the varint is consumed). Returns null at a clean end of stream.
    /// </summary>
    public static async ValueTask<ulong?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var one = new byte[1];
        ulong value = 0;
        for (int i = 0; ; i++)
        {
            if (i == MaxLength)
                throw new P2pProtocolException("A varint is longer than 9 bytes.");
            int n = await stream.ReadAsync(one, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (i == 0) return null;
                throw new P2pProtocolException("The stream ended inside a varint.");
            }
            byte b = one[0];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                if (b == 0 && i > 0)
                    throw new P2pProtocolException("A varint is not minimally encoded.");
                return value;
            }
        }
    }
}
