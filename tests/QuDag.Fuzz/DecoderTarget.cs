using System.Buffers;
using System.Buffers.Binary;
using QuDag.Network;

namespace QuDag.Fuzz;

/// <summary>
/// The fuzz target: treats the input as bytes off the wire and runs them through the decoder loop the
/// connection runs (<see cref="Frame.TryRead"/> until it wants more, <see cref="Hello.Parse"/> on a first
/// HELLO frame). A <see cref="QuDagProtocolException"/> is an expected outcome (the connection would close
/// as Failed); any other exception escapes and is a crash.
/// <para>
/// Besides "nothing else is thrown", the target is its own oracle: the same bytes are decoded three
/// ways (one array-backed buffer; one byte per segment, fed as a pipe would; chunks of sizes drawn from the input's
/// hash, empty ones included) and each result must equal <see cref="Reference"/>, a plain reading of
/// docs/PROTOCOL.md over a span. A difference throws <see cref="DecoderInvariantException"/>.
/// </para>
/// </summary>
public static class DecoderTarget
{
    /// <summary>
    /// The maximum frame size the target decodes with: small, so that inputs of a few KiB reach both
    /// sides of the limit. The check is the same comparison at any limit.
    /// </summary>
    public const int MaxFrameSize = 1024;

    /// <summary>Runs one input; returns normally when the decoder behaved as the protocol says.</summary>
    public static void Run(ReadOnlySpan<byte> input)
    {
        var expected = Reference(input, MaxFrameSize);
        Check(expected, DecodeWhole(input, MaxFrameSize), "one array", input);
        Check(expected, DecodeStreamed(input, MaxFrameSize, OneByteChunks(input.Length)), "one byte a segment", input);
        Check(expected, DecodeStreamed(input, MaxFrameSize, MixedChunks(input)), "mixed segments", input);
    }

    /// <summary>How a decoding of a whole input ended.</summary>
    public enum Ending
    {
        /// <summary>The decoder wants more bytes; <see cref="Outcome.EndOffset"/> is the first unconsumed byte.</summary>
        NeedMore,

        /// <summary>The frame header at <see cref="Outcome.EndOffset"/> broke the protocol (length or type).</summary>
        ProtocolError,

        /// <summary>The first frame was a HELLO that <see cref="Hello.Parse"/> refused; it starts at <see cref="Outcome.EndOffset"/>.</summary>
        HelloRejected,
    }

    /// <summary>One decoded frame: its type and where its payload lies in the input.</summary>
    public readonly record struct DecodedFrame(FrameType Type, int Offset, int Length);

    /// <summary>The result of decoding an input.</summary>
    public sealed record Outcome(List<DecodedFrame> Frames, Ending Ending, int EndOffset, Hello? Hello)
    {
        /// <inheritdoc />
        public override string ToString() =>
            $"{Ending} at {EndOffset}, HELLO {Hello?.ToString() ?? "none"}, frames [{string.Join(", ", Frames)}]";
    }

    /// <summary>The protocol as written, over a span: the oracle for the real decoder.</summary>
    public static Outcome Reference(ReadOnlySpan<byte> input, int maxFrameSize)
    {
        var frames = new List<DecodedFrame>();
        Hello? hello = null;
        var position = 0;
        while (true)
        {
            if (input.Length - position < Frame.HeaderSize)
                return new(frames, Ending.NeedMore, position, hello);
            var length = BinaryPrimitives.ReadUInt32BigEndian(input[position..]);
            var type = input[position + 4];
            if (length > (uint)maxFrameSize || type < 1 || type > 5)
                return new(frames, Ending.ProtocolError, position, hello);
            if (input.Length - position - Frame.HeaderSize < length)
                return new(frames, Ending.NeedMore, position, hello);
            var payload = input.Slice(position + Frame.HeaderSize, (int)length);
            frames.Add(new((FrameType)type, position + Frame.HeaderSize, (int)length));
            if (frames.Count == 1 && (FrameType)type == FrameType.Hello)
            {
                if (payload.Length < Hello.Size || BinaryPrimitives.ReadUInt16BigEndian(payload) == 0)
                    return new(frames, Ending.HelloRejected, position, hello);
                hello = new Hello(BinaryPrimitives.ReadUInt16BigEndian(payload), BinaryPrimitives.ReadUInt32BigEndian(payload[2..]));
            }
            position += Frame.HeaderSize + (int)length;
        }
    }

    /// <summary>Decodes the input as one contiguous, array-backed buffer.</summary>
    public static Outcome DecodeWhole(ReadOnlySpan<byte> input, int maxFrameSize)
    {
        var all = new ReadOnlySequence<byte>(input.ToArray());
        return Decode(input, maxFrameSize, all, [(all.End, input.Length)]);
    }

    /// <summary>
    /// Decodes the input as a pipe reader would see it arriving in chunks of <paramref name="chunkSizes"/>:
    /// after each chunk, <see cref="Frame.TryRead"/> runs until it returns false, over a multi-segment
    /// sequence of everything received and not yet consumed.
    /// </summary>
    public static Outcome DecodeStreamed(ReadOnlySpan<byte> input, int maxFrameSize, IEnumerable<int> chunkSizes)
    {
        var segments = Segments.Split(input, chunkSizes);
        var arrivals = new (SequencePosition, int)[segments.Length];
        for (var i = 0; i < segments.Length; i++)
            arrivals[i] = (segments[i].End, (int)(segments[i].RunningIndex + segments[i].Memory.Length));
        return Decode(input, maxFrameSize, Segments.ToSequence(segments), arrivals);
    }

    /// <summary>Runs the decoder loop once per arrival, each time over all bytes up to that arrival's end.</summary>
    private static Outcome Decode(ReadOnlySpan<byte> input, int maxFrameSize, ReadOnlySequence<byte> all, (SequencePosition End, int Received)[] arrivals)
    {
        var frames = new List<DecodedFrame>();
        Hello? hello = null;
        var consumed = 0;               // offset of the first unconsumed byte in the input
        var consumedAt = all.Start;     // the same, as a position in the sequence
        var pendingHeader = false;      // the frame at 'consumed' already had its whole header last round
        foreach (var (end, received) in arrivals)
        {
            var buffer = all.Slice(consumedAt, end);
            Expect(buffer.Length == received - consumed, "the unconsumed buffer has the wrong length", input);
            var firstInRound = true;
            try
            {
                while (true)
                {
                    var before = buffer;
                    if (!Frame.TryRead(ref buffer, maxFrameSize, out var type, out var payload))
                    {
                        Expect(buffer.Length == before.Length && buffer.Start.Equals(before.Start), "TryRead returned false but moved the buffer", input);
                        break;
                    }
                    Expect(type is >= FrameType.Hello and <= FrameType.Close, "TryRead returned an unknown type", input);
                    Expect(payload.Length <= maxFrameSize, "a payload over the maximum frame size", input);
                    Expect(before.Length - buffer.Length == Frame.HeaderSize + payload.Length, "TryRead consumed other than header plus payload", input);
                    Expect(ContentEquals(payload, input[(consumed + Frame.HeaderSize)..]), "the payload's bytes are not the input's", input);
                    frames.Add(new(type, consumed + Frame.HeaderSize, (int)payload.Length));
                    if (frames.Count == 1 && type == FrameType.Hello)
                    {
                        try
                        {
                            hello = Hello.Parse(payload);
                        }
                        catch (QuDagProtocolException)
                        {
                            return new(frames, Ending.HelloRejected, consumed, hello);
                        }
                    }
                    consumed += Frame.HeaderSize + (int)payload.Length;
                    consumedAt = buffer.Start;
                    firstInRound = false;
                }
            }
            catch (QuDagProtocolException)
            {
                // The length and type are checked when the header is complete, never later: a frame whose
                // header was whole in an earlier round and passed then cannot fail now.
                Expect(!(firstInRound && pendingHeader), "a frame header was rejected only after more bytes arrived", input);
                return new(frames, Ending.ProtocolError, consumed, hello);
            }
            pendingHeader = received - consumed >= Frame.HeaderSize;
        }
        return new(frames, Ending.NeedMore, consumed, hello);
    }

    /// <summary>One byte per segment: the most segment boundaries an input can have.</summary>
    public static IEnumerable<int> OneByteChunks(int length) => Enumerable.Repeat(1, length);

    /// <summary>Chunk sizes drawn from the input's hash: mostly small, some large, some empty.</summary>
    public static int[] MixedChunks(ReadOnlySpan<byte> input)
    {
        var state = 14695981039346656037UL; // FNV-1a over the input seeds an xorshift
        foreach (var b in input)
            state = (state ^ b) * 1099511628211UL;
        state |= 1;
        var sizes = new List<int>();
        for (var total = 0; total < input.Length;)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            var size = (state % 16) switch
            {
                0 => 0,
                1 => 1 + (int)(state >> 8 & 511),
                _ => 1 + (int)(state >> 8 & 7),
            };
            sizes.Add(size);
            total += size;
        }
        return [.. sizes];
    }

    /// <summary>Whether the payload's bytes are the first bytes of <paramref name="expected"/>.</summary>
    private static bool ContentEquals(ReadOnlySequence<byte> payload, ReadOnlySpan<byte> expected)
    {
        if (payload.Length > expected.Length)
            return false;
        foreach (var memory in payload)
        {
            if (!memory.Span.SequenceEqual(expected[..memory.Length]))
                return false;
            expected = expected[memory.Length..];
        }
        return true;
    }

    /// <summary>Throws <see cref="DecoderInvariantException"/> unless the two outcomes are the same.</summary>
    public static void Check(Outcome expected, Outcome actual, string how, ReadOnlySpan<byte> input)
    {
        var same = expected.Ending == actual.Ending
            && expected.EndOffset == actual.EndOffset
            && expected.Hello == actual.Hello
            && expected.Frames.SequenceEqual(actual.Frames);
        if (!same)
            Expect(false, $"decoding {how} gave {actual}, the protocol says {expected}", input);
    }

    private static void Expect(bool condition, string what, ReadOnlySpan<byte> input)
    {
        if (!condition)
            throw new DecoderInvariantException($"{what} (input of {input.Length} bytes: {Convert.ToHexString(input[..Math.Min(input.Length, 64)])}{(input.Length > 64 ? "…" : "")})");
    }
}

/// <summary>The decoder did something the protocol does not allow: a bug, reported to the fuzzer as a crash.</summary>
public sealed class DecoderInvariantException(string message) : Exception(message);
