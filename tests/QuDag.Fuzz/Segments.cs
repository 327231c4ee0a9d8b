using System.Buffers;

namespace QuDag.Fuzz;

/// <summary>
/// Builds multi-segment <see cref="ReadOnlySequence{T}"/>s over a byte array, as a pipe hands them out
/// when data arrives in pieces. Empty segments are allowed: the decoder must not care.
/// </summary>
public static class Segments
{
    /// <summary>
    /// Splits <paramref name="bytes"/> into consecutive segments of the given sizes (the last takes the rest;
    /// sizes past the end give empty segments). Each segment copies its bytes, so no two share memory.
    /// </summary>
    public static Segment[] Split(ReadOnlySpan<byte> bytes, IEnumerable<int> sizes)
    {
        var segments = new List<Segment>();
        Segment? last = null;
        var offset = 0;
        foreach (var requested in sizes)
        {
            var size = Math.Clamp(requested, 0, bytes.Length - offset);
            last = new Segment(bytes.Slice(offset, size).ToArray(), last);
            segments.Add(last);
            offset += size;
        }
        if (offset < bytes.Length || last is null)
            segments.Add(new Segment(bytes[offset..].ToArray(), last));
        return [.. segments];
    }

    /// <summary>The whole chain as one sequence.</summary>
    public static ReadOnlySequence<byte> ToSequence(Segment[] segments)
    {
        var last = segments[^1];
        return new ReadOnlySequence<byte>(segments[0], 0, last, last.Memory.Length);
    }

    /// <summary>
    /// Splits at the given sorted offsets (duplicates give empty segments). With no cuts the sequence is
    /// array-backed, the other kind a decoder meets.
    /// </summary>
    public static ReadOnlySequence<byte> SplitAt(ReadOnlySpan<byte> bytes, IReadOnlyList<int> sortedCuts)
    {
        if (sortedCuts.Count == 0)
            return new ReadOnlySequence<byte>(bytes.ToArray());
        var sizes = new int[sortedCuts.Count];
        var previous = 0;
        for (var i = 0; i < sortedCuts.Count; i++)
        {
            var cut = Math.Clamp(sortedCuts[i], previous, bytes.Length);
            sizes[i] = cut - previous;
            previous = cut;
        }
        return ToSequence(Split(bytes, sizes));
    }

    /// <summary>One segment of a chain.</summary>
    public sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        /// <summary>Creates a segment over <paramref name="memory"/> and links it behind <paramref name="previous"/>.</summary>
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }

        /// <summary>The position just past this segment's last byte.</summary>
        public SequencePosition End => new(this, Memory.Length);
    }
}
