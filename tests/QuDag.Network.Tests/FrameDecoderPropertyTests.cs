using System.Buffers;
using System.Buffers.Binary;
using CsCheck;
using QuDag.Fuzz;

namespace QuDag.Network.Tests;

/// <summary>
/// Property tests of the frame decoder (<see cref="Frame.TryRead"/>) and the HELLO parser
/// (<see cref="Hello.Parse"/>) over generated wire bytes cut into arbitrary multi-segment sequences.
/// The oracle is <see cref="DecoderTarget.Reference"/>, the protocol read plainly over a span; the fuzz
/// target (tests/QuDag.Fuzz) uses the same one.
/// </summary>
public sealed class FrameDecoderPropertyTests
{
    private const int DefaultMaxFrameSize = 1 << 20;

    // ---- generators -------------------------------------------------------------------------------

    private static byte[] Encode(byte type, ReadOnlySpan<byte> payload) => EncodeHeader((uint)payload.Length, type, payload);

    private static byte[] EncodeHeader(uint length, byte type, ReadOnlySpan<byte> after)
    {
        var bytes = new byte[Frame.HeaderSize + after.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, length);
        bytes[4] = type;
        after.CopyTo(bytes.AsSpan(Frame.HeaderSize));
        return bytes;
    }

    private static readonly Gen<byte[]> GenPayload = Gen.Byte.Array[Gen.Frequency((6, Gen.Int[0, 16]), (2, Gen.Int[0, 600]), (1, Gen.Int[1000, 2100]))];

    /// <summary>A well-formed frame of a known type (its length may still exceed a small maximum).</summary>
    private static readonly Gen<byte[]> GenValidFrame = Gen.Select(Gen.Byte[1, 5], GenPayload, (t, p) => Encode(t, p));

    /// <summary>A HELLO frame: a good one, version 0, too short, or with trailing bytes.</summary>
    private static readonly Gen<byte[]> GenHelloFrame = Gen.Select(
        Gen.Frequency((1, Gen.Const(0)), (4, Gen.Int[1, ushort.MaxValue])), Gen.UInt, Gen.Int[0, 10],
        (version, capabilities, size) =>
        {
            var payload = new byte[Math.Max(size, 0)];
            Span<byte> full = stackalloc byte[Hello.Size + 4];
            new Hello((ushort)version, capabilities).WriteTo(full);
            full[..Math.Min(size, full.Length)].CopyTo(payload);
            return Encode((byte)FrameType.Hello, payload);
        });

    /// <summary>Any header at all: lengths around 0, the small maxima, 1 MiB and the u32 range; any type.</summary>
    private static readonly Gen<byte[]> GenAnyHeader = Gen.Select(
        Gen.Frequency((2, Gen.UInt[0, 4096]), (1, Gen.UInt[DefaultMaxFrameSize - 2, DefaultMaxFrameSize + 2]), (1, Gen.UInt)),
        Gen.Frequency((3, Gen.Byte[1, 5]), (1, Gen.Byte)),
        Gen.Byte.Array[0, 8],
        (length, type, after) => EncodeHeader(length, type, after));

    private static readonly Gen<byte[]> GenTruncatedFrame = GenValidFrame.SelectMany(frame => Gen.Int[0, frame.Length - 1].Select(n => frame[..n]));

    /// <summary>Wire bytes: mostly frames and broken frames back to back, sometimes plain noise.</summary>
    private static readonly Gen<byte[]> GenWire = Gen.Frequency(
        (1, Gen.Byte.Array[0, 64]),
        (8, Gen.Frequency(
                (8, GenValidFrame), (2, GenHelloFrame), (2, GenAnyHeader), (1, GenTruncatedFrame), (1, Gen.Byte.Array[0, 12]))
            .Array[0, 8]
            .Select(pieces => pieces.SelectMany(p => p).ToArray())));

    /// <summary>
    /// Maximum frame sizes from 1 KiB, not from the 512-byte floor: a rejection allocates its exception, message
    /// and stack trace, 330-560 bytes here, which a 512-byte maximum would not leave room for.
    /// </summary>
    private static readonly Gen<int> GenMaxFrameSize = Gen.Frequency(
        (3, Gen.Int[AllocationBound, 2048]), (1, Gen.Const(DefaultMaxFrameSize)));

    /// <summary>What a rejection may allocate, whatever the declared length: under 1 KiB (and the maximum frame size).</summary>
    private const int AllocationBound = 1024;

    /// <summary>Sorted cut offsets in [0, length]; repeats make empty segments.</summary>
    private static Gen<int[]> GenCuts(int length) => Gen.Int[0, length].Array[0, 12].Select(cuts => cuts.Order().ToArray());

    public sealed record Case(byte[] Wire, int MaxFrameSize, int[] Cuts)
    {
        public override string ToString() => $"max {MaxFrameSize}, cuts [{string.Join(",", Cuts)}], wire {Convert.ToHexString(Wire)}";
    }

    private static readonly Gen<Case> GenCase = GenWire.SelectMany(GenMaxFrameSize, (wire, max) => GenCuts(wire.Length).Select(cuts => new Case(wire, max, cuts)));

    // ---- the decoder loop under measurement ---------------------------------------------------------

    private struct Decoded
    {
        public FrameType Type;
        public ReadOnlySequence<byte> Payload;
    }

    /// <summary>
    /// The loop a connection runs: TryRead until it wants more, Hello.Parse on a first HELLO. Records frames
    /// into a preallocated array and allocates nothing itself, so what it allocates is the decoder's.
    /// </summary>
    private static DecoderTarget.Ending DecodeAll(ReadOnlySequence<byte> buffer, int maxFrameSize, Decoded[] frames,
        out int count, out Hello? hello, out long unconsumed)
    {
        count = 0;
        hello = null;
        unconsumed = buffer.Length;
        var parsingHello = false;
        try
        {
            while (Frame.TryRead(ref buffer, maxFrameSize, out var type, out var payload))
            {
                frames[count++] = new Decoded { Type = type, Payload = payload };
                if (count == 1 && type == FrameType.Hello)
                {
                    parsingHello = true;
                    hello = Hello.Parse(payload);
                    parsingHello = false;
                }
            }
            unconsumed = buffer.Length;
            return DecoderTarget.Ending.NeedMore;
        }
        catch (QuDagProtocolException)
        {
            return parsingHello ? DecoderTarget.Ending.HelloRejected : DecoderTarget.Ending.ProtocolError;
        }
    }

    private readonly record struct Measured(DecoderTarget.Ending Ending, int Count, Hello? Hello, long Unconsumed, long Allocated);

    [ThreadStatic]
    private static bool t_warm;

    private static Measured Measure(ReadOnlySequence<byte> sequence, int maxFrameSize, Decoded[] frames)
    {
        WarmUp();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var ending = DecodeAll(sequence, maxFrameSize, frames, out var count, out var hello, out var unconsumed);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return new(ending, count, hello, unconsumed, allocated);
    }

    /// <summary>
    /// Once per thread (CsCheck samples on several): the first exception a thread throws costs the runtime
    /// about 1 KiB of per-thread set-up, measured here, which is not the decoder's. After it, a rejection
    /// allocates the exception, its message and its stack trace: 330-510 bytes.
    /// </summary>
    private static void WarmUp()
    {
        if (t_warm)
            return;
        t_warm = true;
        var frames = new Decoded[2];
        foreach (var wire in new[] { Encode(1, [0, 1, 0, 0, 0, 0]), Encode(1, [0, 0, 0, 0, 0, 0]), Encode(1, [1]), Encode(9, []), EncodeHeader(uint.MaxValue, 4, []) })
            for (var i = 0; i < 2; i++)
                DecodeAll(new ReadOnlySequence<byte>(wire), Frame.MinimumMaxFrameSize, frames, out _, out _, out _);
    }

    private static void AssertAllocation(Measured m, int maxFrameSize)
    {
        if (m.Ending == DecoderTarget.Ending.NeedMore)
            Assert.True(m.Allocated == 0, $"decoding without a violation allocated {m.Allocated} bytes");
        else
            Assert.True(m.Allocated < Math.Min(maxFrameSize, AllocationBound),
                $"a rejected input allocated {m.Allocated} bytes, not below {Math.Min(maxFrameSize, AllocationBound)} (the maximum frame size is {maxFrameSize})");
    }

    // ---- properties -------------------------------------------------------------------------------

    [Fact]
    public void AnySegmentedBytes_DecodeAsTheProtocolSays_OrFailWithAProtocolException_WithoutAllocating()
    {
        GenCase.Sample(c =>
        {
            var sequence = Segments.SplitAt(c.Wire, c.Cuts);
            var frames = new Decoded[c.Wire.Length / Frame.HeaderSize + 1];
            var m = Measure(sequence, c.MaxFrameSize, frames); // any other exception fails the property

            var expected = DecoderTarget.Reference(c.Wire, c.MaxFrameSize);
            Assert.Equal(expected.Ending, m.Ending);
            Assert.Equal(expected.Frames.Count, m.Count);
            for (var i = 0; i < m.Count; i++)
            {
                Assert.Equal(expected.Frames[i].Type, frames[i].Type);
                Assert.Equal(expected.Frames[i].Offset, sequence.GetOffset(frames[i].Payload.Start));
                Assert.Equal(c.Wire.AsSpan(expected.Frames[i].Offset, expected.Frames[i].Length).ToArray(), frames[i].Payload.ToArray());
            }
            Assert.Equal(expected.Hello, m.Hello);
            if (m.Ending == DecoderTarget.Ending.NeedMore)
                Assert.Equal(c.Wire.Length - expected.EndOffset, m.Unconsumed);
            AssertAllocation(m, c.MaxFrameSize);
        }, iter: 20_000, print: c => c.ToString());
    }

    [Fact]
    public void AnyBytesArrivingInPieces_DecodeAsTheProtocolSays()
    {
        // As a pipe delivers them: TryRead after every piece over all that is not yet consumed. DecodeStreamed
        // also checks that a bad header is rejected in the round its fifth byte arrives, not later.
        Gen.Select(GenWire, GenMaxFrameSize, Gen.Int[0, 40].Array[0, 30]).Sample((wire, max, chunks) =>
        {
            var expected = DecoderTarget.Reference(wire, max);
            DecoderTarget.Check(expected, DecoderTarget.DecodeStreamed(wire, max, chunks), "in pieces", wire);
        }, iter: 5_000);
    }

    public sealed record OversizedCase(byte[] Prefix, int PrefixFrames, uint Length, byte Type, byte[] After, int MaxFrameSize, int[] Cuts);

    [Fact]
    public void OversizedLength_IsRejectedWhenTheHeaderIsComplete_BeforeAnyPayload()
    {
        var gen = Gen.Select(Gen.Byte[2, 5], Gen.Byte.Array[0, 40], (t, p) => Encode(t, p)).Array[0, 3]
            .SelectMany(GenMaxFrameSize, Gen.Byte, Gen.Byte.Array[0, 16], (prefix, max, type, after) => Gen.Select(
                Gen.UInt[(uint)max + 1, uint.MaxValue],
                GenCuts(prefix.Sum(p => p.Length) + Frame.HeaderSize + after.Length),
                (length, cuts) => new OversizedCase([.. prefix.SelectMany(p => p)], prefix.Length, length, type, after, max, cuts)));
        gen.Sample(c =>
        {
            var header = EncodeHeader(c.Length, c.Type, c.After);
            var frames = new Decoded[c.PrefixFrames + 1];
            for (var available = 0; available <= header.Length; available++)
            {
                byte[] wire = [.. c.Prefix, .. header.AsSpan(0, available)];
                var m = Measure(Segments.SplitAt(wire, [.. c.Cuts.Where(x => x <= wire.Length)]), c.MaxFrameSize, frames);
                Assert.Equal(c.PrefixFrames, m.Count);
                if (available < Frame.HeaderSize)
                {
                    Assert.Equal(DecoderTarget.Ending.NeedMore, m.Ending);
                    Assert.Equal(available, m.Unconsumed);
                }
                else
                {
                    Assert.Equal(DecoderTarget.Ending.ProtocolError, m.Ending);
                }
                AssertAllocation(m, c.MaxFrameSize);
            }
        }, iter: 3_000);
    }

    public sealed record Item(FrameType Type, byte[] Payload, Hello? Hello);

    private static readonly Gen<Item> GenItem = Gen.Frequency(
        (4, Gen.Select(Gen.Byte[2, 5], GenPayload, (t, p) => new Item((FrameType)t, p, null))),
        (1, Gen.Select(Gen.Int[1, ushort.MaxValue], Gen.UInt, Gen.Byte.Array[0, 6], (v, caps, extra) =>
        {
            var hello = new Hello((ushort)v, caps);
            var payload = new byte[Hello.Size + extra.Length];
            hello.WriteTo(payload);
            extra.CopyTo(payload, Hello.Size);
            return new Item(FrameType.Hello, payload, hello);
        })));

    [Fact]
    public void WrittenFrames_DecodeToTheSameTypesAndPayloads_WhateverTheSegmentation()
    {
        var gen = GenItem.Array[0, 10].SelectMany(items =>
        {
            var writer = new ArrayBufferWriter<byte>();
            foreach (var item in items)
                Frame.Write(writer, item.Type, item.Payload);
            var wire = writer.WrittenSpan.ToArray();
            return GenCuts(wire.Length).Select(cuts => (items, wire, cuts));
        });
        gen.Sample(t =>
        {
            var (items, wire, cuts) = t;
            var sequence = Segments.SplitAt(wire, cuts);
            var frames = new Decoded[items.Length + 1];
            var before = GC.GetAllocatedBytesForCurrentThread();
            var buffer = sequence;
            var count = 0;
            var hellosMatch = true;
            while (Frame.TryRead(ref buffer, DefaultMaxFrameSize, out var type, out var payload))
            {
                if (type == FrameType.Hello)
                    hellosMatch &= count < items.Length && Hello.Parse(payload) == items[count].Hello;
                frames[count++] = new Decoded { Type = type, Payload = payload };
            }
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.Equal(0, allocated);
            Assert.True(buffer.IsEmpty, "bytes were left over");
            Assert.Equal(items.Length, count);
            Assert.True(hellosMatch, "a HELLO parsed to other values than were written");
            for (var i = 0; i < count; i++)
            {
                Assert.Equal(items[i].Type, frames[i].Type);
                Assert.Equal(items[i].Payload, frames[i].Payload.ToArray());
            }
        }, iter: 5_000, print: t => $"cuts [{string.Join(",", t.cuts)}], wire {Convert.ToHexString(t.wire)}");
    }
}
