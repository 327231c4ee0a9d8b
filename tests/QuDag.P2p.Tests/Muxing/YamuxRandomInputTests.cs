using System.Buffers.Binary;
using CsCheck;
using QuDag.P2p.Muxing;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Tests.Support;

namespace QuDag.P2p.Tests.Muxing;

/// <summary>Arbitrary input to a session's reader: it ends with a protocol error or cleanly, never hangs or
/// throws anything else. Runs alone so the allocation check sees only its own session.</summary>
[Collection(nameof(YamuxRandomInputTests))]
[CollectionDefinition(nameof(YamuxRandomInputTests), DisableParallelization = true)]
public class YamuxRandomInputTests
{
    // Mostly well-formed headers with arbitrary fields (so the state machine is reached), some raw noise.
    private static readonly Gen<byte[]> Frame = Gen.Frequency(
        (4, Gen.Select(Gen.Byte[0, 3], Gen.UShort[0, 15], Gen.UInt[0, 12], Gen.UInt[0, 70_000], Gen.Byte.Array[0, 64],
            (type, flags, id, length, payload) =>
            {
                byte[] frame = new byte[12 + payload.Length];
                frame[1] = type;
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), flags);
                BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), id);
                BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), type == 0 ? (uint)payload.Length : length);
                payload.CopyTo(frame, 12);
                return frame;
            })),
        (1, Gen.Byte.Array[0, 40]));

    private static readonly Gen<byte[]> Input = Frame.List[0, 30].Select(frames => frames.SelectMany(f => f).ToArray());

    [Fact]
    public async Task Arbitrary_input_ends_the_session_only_with_a_protocol_error_or_a_clean_close()
    {
        await Input.SampleAsync(async bytes =>
        {
            var (left, right) = Duplex.CreatePair();
            var session = new YamuxSession(left, isInitiator: (bytes.Length & 1) == 0);
            Task draining = right.CopyToAsync(Stream.Null); // read what the session answers
            await right.WriteAsync(bytes);
            await right.FlushAsync();
            right.Dispose(); // EOF after the input
            Task ended = session.Completion.WaitAsync(TimeSpan.FromSeconds(10));
            Exception? error = await Record.ExceptionAsync(() => ended);
            Assert.True(error is null or P2pProtocolException, error?.ToString());
            await session.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            await Record.ExceptionAsync(() => draining.WaitAsync(TimeSpan.FromSeconds(10)));
        }, iter: 300);
    }

    [Fact]
    public async Task A_huge_announced_length_allocates_nothing_near_it()
    {
        var (left, right) = Duplex.CreatePair();
        await using var session = new YamuxSession(left, isInitiator: false);
        await using var peer = new RawPeer(right);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await peer.SendAsync(FrameTypes.Data, FrameTypes.Syn, 1, 0x7FFF_FFFF, new byte[60_000]);
        await Assert.ThrowsAsync<P2pProtocolException>(() => session.Completion.WaitAsync(Wait.Long));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.True(allocated < 4 << 20, $"allocated {allocated} bytes for a 2 GiB announcement");
    }
}
