using System.Buffers.Binary;
using QuDag.P2p.Muxing;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Tests.Support;

namespace QuDag.P2p.Tests.Muxing;

/// <summary>
/// The session parses what Noise lends it in place (each Noise frame decrypted where it arrived), and copies a payload
/// straight into a reader that waits with its buffer. Frames cut anywhere across Noise frames, and payloads that a
/// waiting reader's buffer cannot hold, must still arrive whole and in order.
/// </summary>
public sealed class YamuxLendingTests
{
    private static byte[] Frame(byte type, ushort flags, uint id, uint length, byte[]? payload = null)
    {
        byte[] frame = new byte[12 + (payload?.Length ?? 0)];
        frame[1] = type;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), id);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), length);
        payload?.CopyTo(frame, 12);
        return frame;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(11)]
    [InlineData(13)]
    public async Task Frames_cut_across_Noise_frames_at_any_byte_arrive_whole(int cut)
    {
        // Every write of the remote's Noise stream is one Noise frame: cutting the yamux bytes into pieces of `cut` bytes
        // (and a few other sizes in turn) splits headers and payloads at every offset the session must put back together.
        (Stream a, Stream b) = Duplex.CreatePair();
        var (local, remote) = SessionPair.NoisePair(a, b);
        await using var session = new YamuxSession(local, isInitiator: false);
        await using var _ = remote;
        byte[] payload1 = Wait.Pattern(100, 7), payload2 = Wait.Pattern(3000, 8);
        byte[] wire = [
            .. Frame(FrameTypes.Data, FrameTypes.Syn, 1, (uint)payload1.Length, payload1),
            .. Frame(FrameTypes.Ping, FrameTypes.Syn, 0, 42),
            .. Frame(FrameTypes.Data, 0, 1, (uint)payload2.Length, payload2),
            .. Frame(FrameTypes.Data, FrameTypes.Fin, 1, 0),
        ];
        int[] sizes = [cut, 1, 2 * cut + 1, 12, 7];
        for (int at = 0, i = 0; at < wire.Length; i++)
        {
            int n = Math.Min(sizes[i % sizes.Length], wire.Length - at);
            await remote.WriteAsync(wire.AsMemory(at, n));
            at += n;
        }
        MuxedStream stream = await session.AcceptStreamAsync(default).AsTask().WaitAsync(Wait.Long);
        byte[] received = await Wait.ReadToEndAsync(stream).WaitAsync(Wait.Long);
        Assert.Equal([.. payload1, .. payload2], received);
        // The ping in the middle was answered: its ACK comes back with the value.
        var peer = new RawPeer(remote);
        var pong = await peer.ReadUntilAsync(f => f.Type == FrameTypes.Ping);
        Assert.Equal((FrameTypes.Ack, 42u), (pong.Flags, pong.Length));
    }

    [Theory]
    [InlineData(Transport.Duplex)]
    [InlineData(Transport.NoiseTcp)]
    public async Task A_waiting_read_takes_what_fits_its_buffer_and_the_rest_follows_in_order(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        MuxedStream outbound = await pair.Dialer.OpenStreamAsync(default);
        await outbound.WriteAsync(new byte[] { 0 });
        MuxedStream inbound = await pair.Listener.AcceptStreamAsync(default);
        Assert.Equal(1, await inbound.ReadAsync(new byte[1]));
        for (int round = 0; round < 20; round++)
        {
            // The read waits first (its buffer lent to the session), then 25 bytes arrive in one frame for its 10.
            byte[] small = new byte[10];
            ValueTask<int> waiting = inbound.ReadAsync(small);
            byte[] sent = Wait.Pattern(25, round);
            await outbound.WriteAsync(sent);
            int first = await waiting.AsTask().WaitAsync(Wait.Long);
            byte[] rest = new byte[25 - first];
            await inbound.ReadExactlyAsync(rest).AsTask().WaitAsync(Wait.Long);
            Assert.Equal(sent, small[..first].Concat(rest).ToArray());
        }
    }

    [Fact]
    public async Task Megabytes_through_a_reader_with_a_small_buffer_arrive_whole_and_the_window_keeps_moving()
    {
        // Bytes copied straight into a waiting read are consumed at once: they must be credited back like buffered ones,
        // or the sender stalls at the 256 KiB window.
        await using var pair = await SessionPair.CreateAsync(Transport.NoiseTcp);
        MuxedStream outbound = await pair.Dialer.OpenStreamAsync(default);
        byte[] sent = Wait.Pattern(3 << 20, 3);
        Task writing = Task.Run(async () =>
        {
            await outbound.WriteAsync(sent);
            await outbound.CloseWriteAsync();
        });
        MuxedStream inbound = await pair.Listener.AcceptStreamAsync(default);
        var received = new MemoryStream();
        byte[] buffer = new byte[1000];
        int n;
        while ((n = await inbound.ReadAsync(buffer).AsTask().WaitAsync(Wait.Long)) > 0)
            received.Write(buffer, 0, n);
        await writing.WaitAsync(Wait.Long);
        Assert.Equal(sent, received.ToArray());
    }
}
