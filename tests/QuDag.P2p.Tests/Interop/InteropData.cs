using System.Buffers.Binary;
using System.Security.Cryptography;

namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// The pseudo-random byte stream both sides of the interop tests write and check (node.mjs's
/// <c>generate</c>): byte i is byte (i mod 4), little-endian, of the word fmix32((i / 4 mod 2^32) XOR 0x51444147),
/// fmix32 being MurmurHash3's finalizer. A bijection on the word index, so a dropped, repeated or swapped
/// chunk of any size below 16 GiB changes the bytes.
/// </summary>
public static class InteropData
{
    private const uint Seed = 0x51444147; // "QDAG"

    /// <summary>Fills <paramref name="destination"/> with the stream's bytes from byte <paramref name="offset"/> on.</summary>
    public static void Generate(long offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        int k = 0;
        // A head up to the next word boundary, then whole words, then a tail.
        while (k < destination.Length && ((offset + k) & 3) != 0)
        {
            destination[k] = ByteAt(offset + k);
            k++;
        }
        for (; k + 4 <= destination.Length; k += 4)
            BinaryPrimitives.WriteUInt32LittleEndian(destination[k..], Word(offset + k));
        for (; k < destination.Length; k++)
            destination[k] = ByteAt(offset + k);
    }

    /// <summary>The stream's bytes [offset, offset + length) as a new array.</summary>
    public static byte[] Create(long offset, int length)
    {
        byte[] bytes = new byte[length];
        Generate(offset, bytes);
        return bytes;
    }

    /// <summary>SHA-256 of the stream's first <paramref name="length"/> bytes: what the sink protocol answers.</summary>
    public static byte[] Sha256(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[64 * 1024];
        for (long offset = 0; offset < length; offset += buffer.Length)
        {
            int n = (int)Math.Min(buffer.Length, length - offset);
            Generate(offset, buffer.AsSpan(0, n));
            hash.AppendData(buffer, 0, n);
        }
        return hash.GetHashAndReset();
    }

    private static byte ByteAt(long i) => (byte)(Word(i) >> (8 * (int)(i & 3)));

    private static uint Word(long i) => Fmix32((uint)(i >> 2) ^ Seed);

    private static uint Fmix32(uint h)
    {
        h ^= h >> 16;
        h *= 0x85ebca6b;
        h ^= h >> 13;
        h *= 0xc2b2ae35;
        h ^= h >> 16;
        return h;
    }
}
