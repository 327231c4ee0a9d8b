using QuDag.P2p.Muxing;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Tests.Support;
using static QuDag.P2p.Tests.Muxing.FrameTypes;

namespace QuDag.P2p.Tests.Muxing;

/// <summary>Our session against a peer that writes raw frames by hand.</summary>
public class YamuxHostilePeerTests
{
    private static (YamuxSession Session, RawPeer Peer) Listener(YamuxOptions? options = null)
    {
        var (left, right) = Duplex.CreatePair();
        return (new YamuxSession(left, isInitiator: false, options), new RawPeer(right));
    }

    private static async Task<P2pProtocolException> AssertProtocolFailureAsync(YamuxSession session, RawPeer peer)
    {
        // The session tells the peer why (GoAway protocol error), then closes.
        var goAway = await peer.ReadUntilAsync(f => f.Type == GoAway);
        Assert.Equal((uint)YamuxGoAwayCode.ProtocolError, goAway.Length);
        var error = await Assert.ThrowsAsync<P2pProtocolException>(() => session.Completion.WaitAsync(Wait.Long));
        Assert.False(session.IsOpen);
        await Assert.ThrowsAsync<MuxerClosedException>(() => session.AcceptStreamAsync(default).AsTask());
        await Assert.ThrowsAsync<MuxerClosedException>(() => session.OpenStreamAsync(default).AsTask());
        Assert.Equal(0, await peer.Stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Wait.Long)); // connection closed
        return error;
    }

    [Fact]
    public async Task Data_past_the_granted_window_is_a_protocol_error_and_resets_the_stream()
    {
        var (session, peer) = Listener();
        await using var _ = session;
        await peer.SendAsync(WindowUpdate, Syn, 1, 0);
        MuxedStream stream = await session.AcceptStreamAsync(default);
        Task<int> reading = Task.Run(async () => { await Task.Yield(); return 0; });
        await peer.SendAsync(Data, 0, 1, 200_000, new byte[200_000]);
        await peer.SendAsync(Data, 0, 1, 100_000, new byte[100_000]); // 300,000 > 262,144 granted
        var error = await AssertProtocolFailureAsync(session, peer);
        Assert.Contains("window", error.Message);
        await Assert.ThrowsAsync<StreamResetException>(() => stream.ReadAsync(new byte[1]).AsTask());
        await reading;
    }

    [Fact]
    public async Task Credit_is_granted_as_the_application_reads_so_a_well_behaved_sender_never_overruns()
    {
        var (session, peer) = Listener();
        await using var _ = session;
        await peer.SendAsync(WindowUpdate, Syn, 1, 0);
        MuxedStream stream = await session.AcceptStreamAsync(default);
        var ack = await peer.ReadFrameAsync();
        Assert.Equal((WindowUpdate, Ack, 1u, 0u), (ack.Type, ack.Flags, ack.StreamId, ack.Length));

        await peer.SendAsync(Data, 0, 1, 262_144, new byte[262_144]); // exactly the window
        byte[] buffer = new byte[100_000];
        await stream.ReadExactlyAsync(buffer); // under half a window consumed: no update yet
        await stream.ReadExactlyAsync(buffer.AsMemory(0, 31_072)); // 131,072 = half: one update
        var update = await peer.ReadFrameAsync();
        Assert.Equal((WindowUpdate, (ushort)0, 1u, 131_072u), (update.Type, update.Flags, update.StreamId, update.Length));
        await peer.SendAsync(Data, 0, 1, 131_072, new byte[131_072]); // uses exactly the new credit
        await peer.SendAsync(Ping, Syn, 0, 42);
        await peer.ReadUntilAsync(f => f.Type == Ping); // the session processed everything
        Assert.True(session.IsOpen);
    }

    [Fact]
    public async Task Data_for_an_unknown_stream_is_answered_with_RST_and_never_buffered()
    {
        var (session, peer) = Listener();
        await using var _ = session;
        await peer.SendAsync(Data, 0, 7, 5, "hello"u8.ToArray());
        var rst = await peer.ReadFrameAsync();
        Assert.Equal(7u, rst.StreamId);
        Assert.Equal(Rst, rst.Flags);
        Assert.Equal(0, session.StreamCount);
        // A late FIN or window update for a forgotten stream is ignored; the session goes on.
        await peer.SendAsync(WindowUpdate, Fin, 9, 100);
        await peer.SendAsync(Ping, Syn, 0, 5);
        var pong = await peer.ReadFrameAsync();
        Assert.Equal((Ping, Ack, 5u), (pong.Type, pong.Flags, pong.Length));
        Assert.True(session.IsOpen);
    }

    [Fact]
    public async Task A_bad_version_is_a_protocol_error()
    {
        var (session, peer) = Listener();
        await using var _ = session;
        await peer.SendRawAsync([1, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
        var error = await AssertProtocolFailureAsync(session, peer);
        Assert.Contains("version", error.Message);
    }

    [Fact]
    public async Task An_unknown_frame_type_is_a_protocol_error()
    {
        var (session, peer) = Listener();
        await using var _ = session;
        await peer.SendRawAsync([0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        await AssertProtocolFailureAsync(session, peer);
    }

    [Fact]
    public async Task A_SYN_with_our_parity_is_a_protocol_error()
    {
        var (session, peer) = Listener(); // the listener's own ids are even: the dialer may only use odd ones
        await using var _ = session;
        await peer.SendAsync(WindowUpdate, Syn, 2, 0);
        var error = await AssertProtocolFailureAsync(session, peer);
        Assert.Contains("parity", error.Message);
    }

    [Fact]
    public async Task A_SYN_reusing_an_open_id_is_a_protocol_error()
    {
        var (session, peer) = Listener();
        await using var _ = session;
        await peer.SendAsync(WindowUpdate, Syn, 1, 0);
        await peer.SendAsync(WindowUpdate, Syn, 1, 0);
        var error = await AssertProtocolFailureAsync(session, peer);
        Assert.Contains("already open", error.Message);
    }

    [Fact]
    public async Task Streams_past_the_limit_and_past_the_backlog_are_answered_with_RST()
    {
        var (session, peer) = Listener(new YamuxOptions { MaxStreams = 3, AcceptBacklog = 2 });
        await using var _ = session;
        await peer.SendAsync(WindowUpdate, Syn, 1, 0);
        await peer.SendAsync(WindowUpdate, Syn, 3, 0);
        await peer.SendAsync(Data, Syn, 5, 3, "abc"u8.ToArray()); // backlog of 2 is full
        var rst = await peer.ReadFrameAsync();
        Assert.Equal((Rst, 5u), (rst.Flags, rst.StreamId));

        MuxedStream first = await session.AcceptStreamAsync(default);
        await session.AcceptStreamAsync(default);
        await peer.SendAsync(WindowUpdate, Syn, 7, 0); // backlog has room: admitted, 3 streams open
        await peer.SendAsync(WindowUpdate, Syn, 9, 0); // 4th stream: over MaxStreams
        rst = await peer.ReadUntilAsync(f => (f.Flags & Rst) != 0);
        Assert.Equal(9u, rst.StreamId);
        Assert.Equal(3, session.StreamCount);

        first.Reset(); // a slot frees up
        await Wait.UntilAsync(() => session.StreamCount == 2, "the reset stream left the session");
        await peer.SendAsync(WindowUpdate, Syn, 11, 0);
        MuxedStream third = await session.AcceptStreamAsync(default);
        Assert.Equal(7, third.Id);
        Assert.Equal(11, (await session.AcceptStreamAsync(default)).Id);
        Assert.True(session.IsOpen);
    }

    [Fact]
    public async Task A_huge_length_on_an_open_stream_fails_at_once_without_waiting_for_or_allocating_the_payload()
    {
        var (session, peer) = Listener();
        await using var _ = session;
        await peer.SendAsync(WindowUpdate, Syn, 1, 0);
        await session.AcceptStreamAsync(default);
        await peer.SendAsync(Data, 0, 1, uint.MaxValue); // 4 GiB announced, not one byte sent
        await AssertProtocolFailureAsync(session, peer);
    }

    [Fact]
    public async Task A_huge_length_for_an_unknown_stream_fails_at_once()
    {
        var (session, peer) = Listener();
        await using var _ = session;
        await peer.SendAsync(Data, 0, 99, 0x7FFF_FFFF);
        await AssertProtocolFailureAsync(session, peer);
    }

    [Fact]
    public async Task Data_after_the_remote_FIN_is_a_protocol_error()
    {
        var (session, peer) = Listener();
        await using var _ = session;
        await peer.SendAsync(Data, Syn | Fin, 1, 2, "hi"u8.ToArray());
        MuxedStream stream = await session.AcceptStreamAsync(default);
        Assert.Equal("hi"u8.ToArray(), await Wait.ReadToEndAsync(stream));
        await peer.SendAsync(Data, 0, 1, 1, [1]);
        await AssertProtocolFailureAsync(session, peer);
    }

    [Fact]
    public async Task GoAway_received_refuses_new_streams_and_keeps_existing_ones()
    {
        var (session, peer) = Listener();
        await using var _ = session;
        await peer.SendAsync(WindowUpdate, Syn, 1, 0);
        MuxedStream stream = await session.AcceptStreamAsync(default);
        await peer.SendAsync(GoAway, 0, 0, (uint)YamuxGoAwayCode.InternalError);
        await peer.SendAsync(Data, 0, 1, 3, "abc"u8.ToArray());
        byte[] three = new byte[3];
        await stream.ReadExactlyAsync(three);
        Assert.Equal(YamuxGoAwayCode.InternalError, session.RemoteGoAwayCode);
        await Assert.ThrowsAsync<MuxerClosedException>(() => session.OpenStreamAsync(default).AsTask());
        await stream.WriteAsync("ok"u8.ToArray());
        var data = await peer.ReadUntilAsync(f => f.Type == Data);
        Assert.Equal("ok"u8.ToArray(), data.Payload);
        Assert.True(session.IsOpen);
    }

    [Fact]
    public async Task Pings_are_answered_with_the_same_value_and_our_ping_completes_on_the_ACK()
    {
        var (session, peer) = Listener();
        await using var _ = session;
        await peer.SendAsync(Ping, Syn, 0, 0xDEADBEEF);
        var pong = await peer.ReadFrameAsync();
        Assert.Equal((Ping, Ack, 0u, 0xDEADBEEFu), (pong.Type, pong.Flags, pong.StreamId, pong.Length));

        Task<TimeSpan> ping = session.PingAsync(default).AsTask();
        var ours = await peer.ReadFrameAsync();
        Assert.Equal((Ping, Syn), (ours.Type, ours.Flags));
        await peer.SendAsync(Ping, Ack, 0, ours.Length + 1); // a wrong value answers nothing
        Assert.False(ping.IsCompleted);
        await peer.SendAsync(Ping, Ack, 0, ours.Length);
        Assert.True(await ping.WaitAsync(Wait.Long) >= TimeSpan.Zero);
    }

    [Fact]
    public async Task A_peer_flooding_pings_without_reading_the_answers_stalls_itself_not_our_memory()
    {
        var (session, peer) = Listener();
        using var stop = new CancellationTokenSource();
        byte[] pings = new byte[12 * 1000]; // 1,000 Ping SYN frames, value 0
        for (int i = 0; i < 1000; i++)
        {
            pings[i * 12 + 1] = Ping;
            pings[i * 12 + 3] = (byte)Syn;
        }
        Task flood = Task.Run(async () =>
        {
            for (int i = 0; i < 2000; i++) // 24 MB of pings, far more than any buffer on the way
                await peer.Stream.WriteAsync(pings, stop.Token);
        });
        await Wait.UntilAsync(() => session.Writer.ControlBackedUp, "our reader stopped reading");
        Assert.False(flood.IsCompleted); // the flood is stuck behind our reader, not in our memory
        Assert.True(session.Writer.PeakQueuedBytes <= session.Writer.HardLimit + 12, $"queued {session.Writer.PeakQueuedBytes}");
        Assert.True(session.IsOpen);
        stop.Cancel();
        await session.DisposeAsync();
        await Record.ExceptionAsync(() => flood.WaitAsync(Wait.Long));
    }

    [Fact]
    public async Task An_unanswered_ping_times_out_on_the_injected_clock()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var (session, peer) = Listener(new YamuxOptions { PingTimeout = TimeSpan.FromSeconds(10), TimeProvider = clock });
        await using var _ = session;
        Task<TimeSpan> ping = session.PingAsync(default).AsTask();
        await peer.ReadUntilAsync(f => f.Type == Ping); // sent, never answered
        Assert.False(ping.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<TimeoutException>(() => ping.WaitAsync(Wait.Long));
        Assert.True(session.IsOpen);
    }

    [Fact]
    public async Task A_stream_we_closed_that_the_remote_never_closes_is_reset_and_released_after_the_close_timeout()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var (session, peer) = Listener(new YamuxOptions { StreamCloseTimeout = TimeSpan.FromMinutes(5), TimeProvider = clock });
        await using var _ = session;
        await peer.SendAsync(WindowUpdate, Syn, 1, 0);
        await peer.SendAsync(WindowUpdate, Syn, 3, 0);
        MuxedStream first = await session.AcceptStreamAsync(default);
        MuxedStream second = await session.AcceptStreamAsync(default);

        first.Dispose();
        await peer.ReadUntilAsync(f => f.StreamId == 1 && (f.Flags & Fin) != 0);
        clock.Advance(TimeSpan.FromMinutes(2));
        second.Dispose();
        await peer.ReadUntilAsync(f => f.StreamId == 3 && (f.Flags & Fin) != 0);

        // The remote never answers with FIN or RST. Just before the first stream's timeout both still wait.
        clock.Advance(TimeSpan.FromMinutes(3) - TimeSpan.FromTicks(1));
        Assert.Equal(2, session.StreamCount);
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, session.StreamCount);
        var reset = await peer.ReadUntilAsync(f => (f.Flags & Rst) != 0);
        Assert.Equal(1u, reset.StreamId);

        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(0, session.StreamCount);
        reset = await peer.ReadUntilAsync(f => (f.Flags & Rst) != 0);
        Assert.Equal(3u, reset.StreamId);
        Assert.True(session.IsOpen);
    }

    [Fact]
    public async Task A_stream_whose_remote_closes_in_time_is_released_and_never_reset()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var (session, peer) = Listener(new YamuxOptions { StreamCloseTimeout = TimeSpan.FromMinutes(5), TimeProvider = clock });
        await using var _ = session;
        await peer.SendAsync(WindowUpdate, Syn, 1, 0);
        MuxedStream stream = await session.AcceptStreamAsync(default);
        stream.Dispose();
        await peer.ReadUntilAsync(f => f.StreamId == 1 && (f.Flags & Fin) != 0);
        clock.Advance(TimeSpan.FromMinutes(4));
        await peer.SendAsync(Data, Fin, 1, 0);
        await Wait.UntilAsync(() => session.StreamCount == 0, "the remote's FIN released the stream");

        clock.Advance(TimeSpan.FromMinutes(10));
        // A ping's answer comes after anything the sweep would have sent: no RST may come before it.
        await peer.SendAsync(Ping, Syn, 0, 7);
        var frame = await peer.ReadUntilAsync(f => f.Type == Ping || (f.Flags & Rst) != 0);
        Assert.Equal(Ping, frame.Type);
        Assert.True(session.IsOpen);
    }

    [Fact]
    public async Task A_GoAway_for_a_protocol_error_followed_by_the_end_faults_the_session_with_it()
    {
        var (session, peer) = Listener();
        await peer.SendAsync(GoAway, 0, 0, (uint)YamuxGoAwayCode.ProtocolError);
        await peer.DisposeAsync();
        var error = await Assert.ThrowsAsync<P2pProtocolException>(() => session.Completion.WaitAsync(Wait.Long));
        Assert.Contains("GoAway", error.Message);
        await session.DisposeAsync();
    }

    [Fact]
    public async Task The_connection_ending_resets_every_stream_and_ends_the_session_cleanly()
    {
        var (session, peer) = Listener();
        await peer.SendAsync(WindowUpdate, Syn, 1, 0);
        MuxedStream stream = await session.AcceptStreamAsync(default);
        Task<int> reading = stream.ReadAsync(new byte[1]).AsTask();
        await peer.DisposeAsync();
        await session.Completion.WaitAsync(Wait.Long);
        await Assert.ThrowsAsync<StreamResetException>(() => reading.WaitAsync(Wait.Long));
        Assert.Equal(0, session.StreamCount);
        await session.DisposeAsync();
    }

    [Fact]
    public async Task A_frame_cut_off_by_the_end_of_the_connection_is_a_protocol_error()
    {
        var (session, peer) = Listener();
        await peer.SendRawAsync([0, 0, 0, 1, 0, 0]);
        await peer.DisposeAsync();
        await Assert.ThrowsAsync<P2pProtocolException>(() => session.Completion.WaitAsync(Wait.Long));
        await session.DisposeAsync();
    }
}
