using System.Security.Cryptography;
using QuDag.P2p.Muxing;
using QuDag.P2p.Muxing.Yamux;

namespace QuDag.P2p.Tests.Muxing;

/// <summary>Two of our sessions talking, over the in-memory duplex and over real loopback TCP.</summary>
public class YamuxSessionTests
{
    public static TheoryData<Transport> Transports => new() { Transport.Duplex, Transport.Tcp, Transport.NoiseTcp };

    [Theory, MemberData(nameof(Transports))]
    public async Task Streams_open_both_ways_with_dialer_odd_and_listener_even_ids_and_echo(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        for (int round = 0; round < 3; round++)
        {
            foreach ((YamuxSession opener, YamuxSession acceptor, bool odd) in new[] { (pair.Dialer, pair.Listener, true), (pair.Listener, pair.Dialer, false) })
            {
                await using MuxedStream outbound = await opener.OpenStreamAsync(default);
                await outbound.WriteAsync("hello"u8.ToArray());
                await using MuxedStream inbound = await acceptor.AcceptStreamAsync(default);
                Assert.Equal(outbound.Id, inbound.Id);
                Assert.Equal(odd, outbound.Id % 2 == 1);

                byte[] buffer = new byte[5];
                await inbound.ReadExactlyAsync(buffer);
                await inbound.WriteAsync(buffer);
                await outbound.ReadExactlyAsync(buffer);
                Assert.Equal("hello"u8.ToArray(), buffer);
            }
        }
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task Half_close_lets_the_other_side_read_to_the_end_and_still_answer(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        MuxedStream client = await pair.Dialer.OpenStreamAsync(default);
        byte[] request = Wait.Pattern(100_000, 1);
        await client.WriteAsync(request);
        await client.CloseWriteAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.WriteAsync(new byte[1]).AsTask());

        MuxedStream server = await pair.Listener.AcceptStreamAsync(default);
        Assert.Equal(request, await Wait.ReadToEndAsync(server));
        Assert.Equal(0, await server.ReadAsync(new byte[1])); // EOF stays EOF
        await server.WriteAsync("response"u8.ToArray());
        server.Dispose(); // FIN: both halves closed, the stream leaves both sessions

        Assert.Equal("response"u8.ToArray(), await Wait.ReadToEndAsync(client));
        client.Dispose();
        await Wait.UntilAsync(() => pair.Dialer.StreamCount == 0 && pair.Listener.StreamCount == 0, "both sessions released the stream");
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task A_shutdown_delivers_what_was_queued_and_a_finished_stream_stays_readable_while_others_reset(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        MuxedStream finished = await pair.Dialer.OpenStreamAsync(default);
        MuxedStream open = await pair.Dialer.OpenStreamAsync(default);
        byte[] last = Wait.Pattern(300_000, 3); // more than a window: some of it is still queued at the shutdown
        var writing = Task.Run(async () =>
        {
            await finished.WriteAsync(last);
            await finished.CloseWriteAsync();
        });
        await open.WriteAsync(new byte[10]);
        MuxedStream inFinished = await pair.Listener.AcceptStreamAsync(default);
        MuxedStream inOpen = await pair.Listener.AcceptStreamAsync(default);
        byte[] head = new byte[200_000];
        await inFinished.ReadExactlyAsync(head).AsTask().WaitAsync(TimeSpan.FromSeconds(10)); // past half a window: credit flows
        await writing.WaitAsync(TimeSpan.FromSeconds(10));

        await pair.Dialer.ShutdownAsync();
        await pair.Listener.Completion.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);

        // The stream the dialer finished reads to its end; the one left open is reset by the close.
        Assert.Equal(last[200_000..], await Wait.ReadToEndAsync(inFinished).WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            byte[] buffer = new byte[64];
            while (await inOpen.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10)) > 0)
            {
            }
        });
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task A_thousand_concurrent_streams_each_carry_4_KiB_intact(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        const int count = 1000;
        Task server = Task.Run(async () =>
        {
            var echoes = new List<Task>();
            for (int i = 0; i < count; i++)
            {
                MuxedStream stream = await pair.Listener.AcceptStreamAsync(default);
                echoes.Add(Task.Run(async () =>
                {
                    await using (stream)
                    {
                        byte[] data = await Wait.ReadToEndAsync(stream);
                        await stream.WriteAsync(data);
                    }
                }));
            }
            await Task.WhenAll(echoes);
        });
        var clients = Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            await using MuxedStream stream = await pair.Dialer.OpenStreamAsync(default);
            byte[] data = Wait.Pattern(4096, i);
            await stream.WriteAsync(data);
            await stream.CloseWriteAsync();
            Assert.Equal(data, await Wait.ReadToEndAsync(stream));
        })).ToArray();
        await Task.WhenAll(clients).WaitAsync(Wait.Long);
        await server.WaitAsync(Wait.Long);
        await Wait.UntilAsync(() => pair.Dialer.StreamCount == 0 && pair.Listener.StreamCount == 0, "every stream was released");
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task Sixty_four_MiB_cross_one_stream_both_ways_at_once_byte_exact(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        MuxedStream a = await pair.Dialer.OpenStreamAsync(default);
        await a.WriteAsync(new byte[1]); // so the listener sees the SYN before data flows the other way
        MuxedStream b = await pair.Listener.AcceptStreamAsync(default);
        Assert.Equal(1, await b.ReadAsync(new byte[1]));
        await Task.WhenAll(SendAndHashAsync(a, b, 64 << 20, 7), SendAndHashAsync(b, a, 64 << 20, 8)).WaitAsync(Wait.Long);
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task Many_streams_carry_large_transfers_both_ways_at_once_byte_exact(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        var transfers = new List<Task>();
        for (int i = 0; i < 8; i++)
        {
            MuxedStream a = await pair.Dialer.OpenStreamAsync(default);
            await a.WriteAsync(new byte[1]);
            MuxedStream b = await pair.Listener.AcceptStreamAsync(default);
            Assert.Equal(1, await b.ReadAsync(new byte[1]));
            transfers.Add(SendAndHashAsync(a, b, 8 << 20, 100 + i));
            transfers.Add(SendAndHashAsync(b, a, 8 << 20, 200 + i));
        }
        await Task.WhenAll(transfers).WaitAsync(Wait.Long);
    }

    /// <summary>Writes <paramref name="length"/> pseudo-random bytes in uneven chunks, FINs, and checks
    /// the other side reads exactly them (SHA-256 of both sides).</summary>
    private static async Task SendAndHashAsync(MuxedStream from, MuxedStream to, int length, int seed)
    {
        byte[] block = Wait.Pattern(1 << 20, seed);
        Task<byte[]> received = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] buffer = new byte[100_000];
            long total = 0;
            int n;
            while ((n = await to.ReadAsync(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                total += n;
            }
            Assert.Equal(length, total);
            return hash.GetHashAndReset();
        });
        using var sent = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var random = new Random(seed);
        for (int offset = 0; offset < length;)
        {
            int n = Math.Min(length - offset, random.Next(1, 300_000));
            int start = offset % block.Length;
            n = Math.Min(n, block.Length - start);
            await from.WriteAsync(block.AsMemory(start, n));
            sent.AppendData(block, start, n);
            offset += n;
        }
        await from.CloseWriteAsync();
        Assert.Equal(sent.GetHashAndReset(), await received);
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task A_reader_that_does_not_read_stalls_the_writer_at_one_window_and_releases_it_when_it_reads(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        var a = (YamuxStream)await pair.Dialer.OpenStreamAsync(default);
        byte[] data = Wait.Pattern(4 << 20, 3);
        Task writing = a.WriteAsync(data).AsTask();
        var b = (YamuxStream)await pair.Listener.AcceptStreamAsync(default);

        await Wait.UntilAsync(() => b.BufferedBytes == YamuxOptions.SpecInitialWindow, "the reader holds one full window");
        Assert.False(writing.IsCompleted); // no credit left: the writer waits, it does not queue without bound
        // The window is enforced on receipt, so the reader never holds more than it (the session would fail).
        Assert.True(pair.Listener.IsOpen);
        Assert.Equal(YamuxOptions.SpecInitialWindow, b.BufferedBytes);

        byte[] received = new byte[data.Length];
        await b.ReadExactlyAsync(received).AsTask().WaitAsync(Wait.Long);
        await writing.WaitAsync(Wait.Long);
        Assert.Equal(data, received);
    }

    [Fact]
    public async Task A_write_waiting_for_window_is_cancellable_and_the_stream_goes_on()
    {
        await using var pair = await SessionPair.CreateAsync(Transport.Duplex);
        var a = (YamuxStream)await pair.Dialer.OpenStreamAsync(default);
        byte[] window = Wait.Pattern(YamuxOptions.SpecInitialWindow, 5);
        await a.WriteAsync(window).AsTask().WaitAsync(Wait.Long); // exactly the credit: completes
        var b = (YamuxStream)await pair.Listener.AcceptStreamAsync(default);
        await Wait.UntilAsync(() => b.BufferedBytes == window.Length, "the window arrived");

        using var cts = new CancellationTokenSource();
        Task waiting = a.WriteAsync(new byte[10], cts.Token).AsTask();
        Assert.False(waiting.IsCompleted); // no credit
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Wait.Long));

        byte[] received = new byte[window.Length];
        await b.ReadExactlyAsync(received).AsTask().WaitAsync(Wait.Long);
        Assert.Equal(window, received);
        await a.WriteAsync("after"u8.ToArray()).AsTask().WaitAsync(Wait.Long);
        await a.CloseWriteAsync();
        Assert.Equal("after"u8.ToArray(), await Wait.ReadToEndAsync(b)); // the cancelled write sent nothing
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task Disposing_a_stream_during_a_write_sends_FIN_after_its_last_frame(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        MuxedStream a = await pair.Dialer.OpenStreamAsync(default);
        byte[] data = Wait.Pattern(1 << 20, 11);
        Task writing = a.WriteAsync(data).AsTask();
        var b = (YamuxStream)await pair.Listener.AcceptStreamAsync(default);
        await Wait.UntilAsync(() => b.BufferedBytes == YamuxOptions.SpecInitialWindow, "the writer is waiting for credit");
        Assert.False(writing.IsCompleted);

        a.Dispose(); // from another thread than the pending write
        await Assert.ThrowsAsync<ObjectDisposedException>(() => writing.WaitAsync(Wait.Long));
        byte[] received = await Wait.ReadToEndAsync(b); // every byte sent, then FIN (never data after it)
        Assert.Equal(data.AsSpan(0, received.Length).ToArray(), received);
        Assert.True(received.Length >= YamuxOptions.SpecInitialWindow);
        await b.WriteAsync("late"u8.ToArray()); // the dialer drops it and credits it back
        b.Dispose();
        await Wait.UntilAsync(() => pair.Dialer.StreamCount == 0 && pair.Listener.StreamCount == 0, "both released the stream");
        Assert.True(pair.Dialer.IsOpen && pair.Listener.IsOpen);
        Assert.True(await pair.Dialer.PingAsync(default) > TimeSpan.Zero);
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task Ping_measures_a_round_trip(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        TimeSpan rtt = await pair.Dialer.PingAsync(default);
        Assert.True(rtt > TimeSpan.Zero && rtt < TimeSpan.FromSeconds(10));
        Assert.True(await pair.Listener.PingAsync(default) > TimeSpan.Zero);
    }

    [Fact]
    public async Task GoAway_stops_new_streams_while_existing_ones_finish_and_close_waits_for_them()
    {
        await using var pair = await SessionPair.CreateAsync(Transport.Duplex);
        MuxedStream a = await pair.Dialer.OpenStreamAsync(default);
        await a.WriteAsync("x"u8.ToArray());
        MuxedStream b = await pair.Listener.AcceptStreamAsync(default);

        Task closing = pair.Listener.CloseAsync(default).AsTask();
        await Wait.UntilAsync(() => pair.Dialer.RemoteGoAwayCode is not null, "the dialer got GoAway");
        Assert.Equal(YamuxGoAwayCode.Normal, pair.Dialer.RemoteGoAwayCode);
        await Assert.ThrowsAsync<MuxerClosedException>(() => pair.Dialer.OpenStreamAsync(default).AsTask());
        await Assert.ThrowsAsync<MuxerClosedException>(() => pair.Listener.OpenStreamAsync(default).AsTask());

        // The existing stream still works both ways until both sides close it.
        await b.WriteAsync("y"u8.ToArray());
        byte[] one = new byte[1];
        await a.ReadExactlyAsync(one);
        Assert.Equal((byte)'y', one[0]);
        Assert.False(closing.IsCompleted);
        a.Dispose();
        b.Dispose();
        await closing.WaitAsync(Wait.Long);
        await pair.Listener.Completion.WaitAsync(Wait.Long);
        await pair.Dialer.Completion.WaitAsync(Wait.Long); // the connection closed under it: a clean end
        Assert.False(pair.Dialer.IsOpen);
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task Reset_fails_the_remote_side_and_both_sessions_forget_the_stream(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        MuxedStream a = await pair.Dialer.OpenStreamAsync(default);
        await a.WriteAsync("x"u8.ToArray());
        MuxedStream b = await pair.Listener.AcceptStreamAsync(default);
        Task<int> pendingRead = b.ReadAsync(new byte[10]).AsTask();
        Assert.Equal(1, await pendingRead);
        Task<int> waiting = b.ReadAsync(new byte[10]).AsTask();
        a.Reset();
        await Assert.ThrowsAsync<StreamResetException>(() => waiting.WaitAsync(Wait.Long));
        await Assert.ThrowsAsync<StreamResetException>(() => b.WriteAsync(new byte[1]).AsTask());
        await Assert.ThrowsAsync<StreamResetException>(() => a.ReadAsync(new byte[1]).AsTask());
        await Wait.UntilAsync(() => pair.Dialer.StreamCount == 0 && pair.Listener.StreamCount == 0, "the reset stream was released");
    }

    [Fact]
    public async Task Opening_beyond_the_unacknowledged_limit_waits_for_an_ACK()
    {
        var (left, right) = Support.Duplex.CreatePair();
        await using var session = new YamuxSession(left, isInitiator: true, new YamuxOptions { MaxPendingOutboundStreams = 2 });
        await using var raw = new RawPeer(right);
        MuxedStream first = await session.OpenStreamAsync(default);
        await session.OpenStreamAsync(default);
        Task<MuxedStream> third = session.OpenStreamAsync(default).AsTask();
        var syn1 = await raw.ReadFrameAsync();
        var syn2 = await raw.ReadFrameAsync();
        Assert.Equal((FrameTypes.WindowUpdate, FrameTypes.Syn, 1u), (syn1.Type, syn1.Flags, syn1.StreamId));
        Assert.Equal((FrameTypes.WindowUpdate, FrameTypes.Syn, 3u), (syn2.Type, syn2.Flags, syn2.StreamId));
        Assert.False(third.IsCompleted);
        await raw.SendAsync(FrameTypes.WindowUpdate, FrameTypes.Ack, 1, 0);
        MuxedStream opened = await third.WaitAsync(Wait.Long);
        Assert.Equal(5, opened.Id);

        using var cts = new CancellationTokenSource();
        Task<MuxedStream> fourth = session.OpenStreamAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fourth);
        _ = first;
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task Disposal_mid_transfer_ends_every_pending_operation_and_the_session(Transport transport)
    {
        var pair = await SessionPair.CreateAsync(transport);
        var pending = new List<Task>();
        for (int i = 0; i < 4; i++)
        {
            MuxedStream a = await pair.Dialer.OpenStreamAsync(default);
            await a.WriteAsync(new byte[1]);
            MuxedStream b = await pair.Listener.AcceptStreamAsync(default);
            pending.Add(Task.Run(async () => { while (true) await a.WriteAsync(new byte[70_000]); }));
            pending.Add(Task.Run(async () => { byte[] buf = new byte[5000]; while (await b.ReadAsync(buf) > 0) { } }));
            pending.Add(Task.Run(async () => { byte[] buf = new byte[5000]; while (await a.ReadAsync(buf) > 0) { } }));
        }
        pending.Add(pair.Dialer.AcceptStreamAsync(default).AsTask());
        await Wait.UntilAsync(() => pair.Listener.StreamCount == 4, "the transfers run");

        await pair.Dialer.DisposeAsync().AsTask().WaitAsync(Wait.Long);
        Assert.False(pair.Dialer.IsOpen);
        Assert.True(pair.Dialer.Completion.IsCompleted);
        Assert.True(pair.Dialer.LoopsEnded);
        foreach (Task task in pending)
        {
            Exception? error = await Record.ExceptionAsync(() => task.WaitAsync(Wait.Long));
            Assert.True(error is StreamResetException or MuxerClosedException or null, error?.ToString());
        }
        // The listener saw the connection end: its streams were reset and its session ended too.
        await pair.Listener.Completion.WaitAsync(Wait.Long).ContinueWith(_ => { });
        Assert.False(pair.Listener.IsOpen);
        Assert.Equal(0, pair.Listener.StreamCount);
        await Assert.ThrowsAsync<MuxerClosedException>(() => pair.Dialer.OpenStreamAsync(default).AsTask());
        await Assert.ThrowsAsync<MuxerClosedException>(() => pair.Dialer.PingAsync(default).AsTask());
        await pair.DisposeAsync();
        Assert.True(pair.Listener.LoopsEnded);
    }

    [Fact]
    public async Task Frames_split_into_tiny_reads_parse_the_same()
    {
        var (left, right) = Support.Duplex.CreatePair();
        await using var dialer = new YamuxSession(new Trickle(left), isInitiator: true);
        await using var listener = new YamuxSession(new Trickle(right), isInitiator: false);
        MuxedStream a = await dialer.OpenStreamAsync(default);
        byte[] data = Wait.Pattern(300_000, 9);
        Task writing = Task.Run(async () => { await a.WriteAsync(data); await a.CloseWriteAsync(); });
        MuxedStream b = await listener.AcceptStreamAsync(default);
        Assert.Equal(data, await Wait.ReadToEndAsync(b).WaitAsync(Wait.Long));
        await writing;
    }

    /// <summary>A connection that hands out at most 5 bytes per read, so headers and payloads arrive in pieces.</summary>
    private sealed class Trickle(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 5));
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer[..Math.Min(buffer.Length, 5)], cancellationToken);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }

    [Fact]
    public async Task The_muxer_names_its_protocol_and_makes_working_sessions()
    {
        var muxer = new YamuxMuxer();
        Assert.Equal("/yamux/1.0.0", muxer.ProtocolId);
        var (left, right) = Support.Duplex.CreatePair();
        await using IMuxedSession dialer = muxer.CreateSession(left, isInitiator: true);
        await using IMuxedSession listener = muxer.CreateSession(right, isInitiator: false);
        await using MuxedStream s = await dialer.OpenStreamAsync(default);
        await s.WriteAsync("ok"u8.ToArray());
        await using MuxedStream r = await listener.AcceptStreamAsync(default);
        Assert.Equal(1, r.Id);
        Assert.Throws<ArgumentOutOfRangeException>(() => new YamuxMuxer(new YamuxOptions { InitialWindow = 1000 }));
    }

    [Fact]
    public async Task A_larger_window_is_announced_with_the_SYN_and_used_by_the_remote()
    {
        var options = new YamuxOptions { InitialWindow = 1 << 20 };
        await using var pair = await SessionPair.CreateAsync(Transport.Duplex, options);
        var a = (YamuxStream)await pair.Dialer.OpenStreamAsync(default);
        await a.WriteAsync(new byte[1]);
        var b = (YamuxStream)await pair.Listener.AcceptStreamAsync(default);
        Task writing = b.WriteAsync(new byte[2 << 20]).AsTask();
        await Wait.UntilAsync(() => a.BufferedBytes == (1 << 20), "the reader holds the larger window");
        Assert.False(writing.IsCompleted);
        byte[] all = new byte[(2 << 20) + 1];
        await a.ReadExactlyAsync(all.AsMemory(0, 2 << 20));
        await writing.WaitAsync(Wait.Long);
    }
}
