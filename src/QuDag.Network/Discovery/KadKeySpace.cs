using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace QuDag.Network.Discovery;

/// <summary>
/// Kademlia's key space as every libp2p DHT measures it (kad-dht spec): a key's position is the SHA-256 of its bytes,
/// distance is XOR, and a routing table is cut by common prefix length. The crawler makes keys that fall into a chosen
/// part of that space so that one FIND_NODE reads one part of a remote's table.
/// </summary>
internal static class KadKeySpace
{
    /// <summary>Bits in a position (SHA-256).</summary>
    public const int Bits = 256;

    /// <summary>The key's length: a SHA-256 multihash (0x12 0x20 + 32 bytes), a valid peer id to every implementation.</summary>
    public const int KeyLength = 34;

    /// <summary>The position of <paramref name="key"/> (a peer id's bytes, a record key): SHA-256 of the bytes.</summary>
    public static byte[] PositionOf(ReadOnlySpan<byte> key) => SHA256.HashData(key);

    /// <summary>How many leading bits two positions share (256 when equal).</summary>
    public static int CommonPrefixLength(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            int x = a[i] ^ b[i];
            if (x != 0)
                return i * 8 + BitOperations.LeadingZeroCount((uint)x) - 24;
        }
        return a.Length * 8;
    }

    /// <summary>Bit <paramref name="index"/> of a position, 0 the most significant.</summary>
    public static bool Bit(ReadOnlySpan<byte> position, int index) => (position[index >> 3] & (0x80 >> (index & 7))) != 0;

    /// <summary>A copy of <paramref name="position"/> with bit <paramref name="index"/> flipped.</summary>
    public static byte[] WithBitFlipped(ReadOnlySpan<byte> position, int index)
    {
        var copy = position.ToArray();
        copy[index >> 3] ^= (byte)(0x80 >> (index & 7));
        return copy;
    }

    /// <summary>
    /// A key whose position shares its first <paramref name="depth"/> bits with <paramref name="prefix"/>: a random
    /// SHA-256 multihash, tried until one lands there (about 2^depth hashes; callers keep depth small).
    /// </summary>
    public static byte[] RandomKeyIn(ReadOnlySpan<byte> prefix, int depth)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(depth, 30);
        var key = new byte[KeyLength];
        key[0] = 0x12;
        key[1] = 0x20;
        RandomNumberGenerator.Fill(key.AsSpan(2));
        Span<byte> position = stackalloc byte[32];
        // Random once, then a counter in the first 8 bytes of the digest: each try costs one hash, not a random fill.
        ulong counter = BinaryPrimitives.ReadUInt64LittleEndian(key.AsSpan(2));
        while (true)
        {
            SHA256.HashData(key, position);
            if (CommonPrefixLength(position, prefix) >= depth)
                return key;
            BinaryPrimitives.WriteUInt64LittleEndian(key.AsSpan(2), ++counter);
        }
    }
}
