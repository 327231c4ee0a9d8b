using System.Runtime.CompilerServices;
using QuDag.P2p.Muxing;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Tests.Support;
using static QuDag.P2p.Tests.Muxing.FrameTypes;

namespace QuDag.P2p.Tests.Muxing;

/// <summary>What an idle session keeps: nothing of the streams it has finished with (an idle connection's memory is
/// per connection, so a finished stream held until the next frame costs every idle connection that much).</summary>
public sealed class YamuxIdleRetentionTests
{
    public static TheoryData<Transport> Transports => new() { Transport.Duplex, Transport.NoiseTcp };

    [Theory, MemberData(nameof(Transports))]
    public async Task A_session_gone_idle_right_after_waking_a_reader_does_not_keep_that_stream(Transport transport)
    {
        // The last frame (data and FIN together) is delivered to a waiting reader, whom the loop wakes once it has parked
        // on its next wait: that wait lasts as long as the connection stays idle, and must not hold the stream.
        var (session, peer) = await ListenerAsync(transport);
        await using var _ = session;
        await using var __ = peer;
        WeakReference finished = await FinishOneStreamAsync(session, peer);
        // The reader was resumed on the loop's thread, inside the wake (and this test with it): leave that stack, whose
        // frames root the stream for as long as they run, before looking.
        await Task.Yield();
        Assert.Equal(0, session.StreamCount);
        Assert.True(session.IsOpen);
        for (int i = 0; i < 3 && finished.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(finished.IsAlive, "the idle session still references the stream it finished with");
        // And the session still works after it: a ping goes both ways.
        await peer.SendAsync(Ping, Syn, 0, 7);
        var pong = await peer.ReadUntilAsync(f => f.Type == Ping);
        Assert.Equal((Ack, 7u), (pong.Flags, pong.Length));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> FinishOneStreamAsync(YamuxSession session, RawPeer peer)
    {
        MuxedStream stream = await session.OpenStreamAsync(default);
        var syn = await peer.ReadUntilAsync(f => (f.Flags & Syn) != 0);
        await stream.CloseWriteAsync(default);
        await peer.ReadUntilAsync(f => f.StreamId == syn.StreamId && (f.Flags & Fin) != 0);
        byte[] buffer = new byte[16];
        ValueTask<int> reading = stream.ReadAsync(buffer); // waiting before the data arrives
        await peer.SendAsync(Data, (ushort)(Ack | Fin), syn.StreamId, 2, [1, 2]);
        Assert.Equal(2, await reading.AsTask().WaitAsync(Wait.Long));
        Assert.Equal(0, await stream.ReadAsync(buffer).AsTask().WaitAsync(Wait.Long));
        await stream.DisposeAsync();
        await Wait.UntilAsync(() => session.StreamCount == 0, "the stream released");
        return new WeakReference(stream);
    }

    private static async Task<(YamuxSession, RawPeer)> ListenerAsync(Transport transport)
    {
        (Stream a, Stream b) = transport == Transport.Duplex ? Duplex.CreatePair() : await SessionPair.NoiseTcpPairAsync();
        return (new YamuxSession(a, isInitiator: false), new RawPeer(b));
    }
}
