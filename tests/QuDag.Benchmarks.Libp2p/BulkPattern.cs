using QuDag.P2p.Tests.Interop;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>
/// The bytes of a bulk transfer: the first MiB of the interop pseudo-random stream, repeated (tests/interop/bench.mjs
/// sends and checks the same). A repeated block keeps generation out of the timing; the block's period (1 MiB) is far
/// above any chunk, so a dropped, repeated or swapped chunk still fails the check.
/// </summary>
public static class BulkPattern
{
    public const int BlockSize = 1024 * 1024;
    public const int ChunkSize = 64 * 1024;

    public static byte[] Block { get; } = CreateBlock();

    private static byte[] CreateBlock()
    {
        var block = new byte[BlockSize];
        InteropData.Generate(0, block);
        return block;
    }

    /// <summary>The pattern's bytes at stream offset <paramref name="offset"/>, at most up to the block's end.</summary>
    public static ReadOnlyMemory<byte> At(long offset, int max) 
    {
        int at = (int)(offset % BlockSize);
        return Block.AsMemory(at, Math.Min(max, BlockSize - at));
    }

    /// <summary>True when <paramref name="data"/> equals the pattern from stream offset <paramref name="offset"/> on.</summary>
    public static bool Matches(ReadOnlySpan<byte> data, long offset)
    {
        while (!data.IsEmpty)
        {
            var expected = At(offset, data.Length).Span;
            if (!data[..expected.Length].SequenceEqual(expected))
                return false;
            data = data[expected.Length..];
            offset += expected.Length;
        }
        return true;
    }

    public static async Task WriteAsync(Stream stream, long count, CancellationToken ct)
    {
        for (long offset = 0; offset < count;)
        {
            var piece = At(offset, (int)Math.Min(ChunkSize, count - offset));
            await stream.WriteAsync(piece, ct).ConfigureAwait(false);
            offset += piece.Length;
        }
    }

    /// <summary>Reads to the end, checking every byte; throws past <paramref name="max"/> bytes.</summary>
    public static async Task<(long Received, bool Match)> ReadAsync(Stream stream, long max, CancellationToken ct)
    {
        // No bigger than the transfer may be (plus one byte to see an overrun): 1,000 small streams at once must not
        // charge the muxer's figure with 64 KiB of harness buffer each.
        var buffer = new byte[(int)Math.Min(ChunkSize, max + 1)];
        long received = 0;
        bool match = true;
        int n;
        while ((n = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            if (received + n > max)
                throw new InvalidDataException($"The peer sent more than {max} bytes.");
            match = match && Matches(buffer.AsSpan(0, n), received);
            received += n;
        }
        return (received, match);
    }
}
