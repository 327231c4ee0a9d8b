using System.Buffers.Binary;
using QuDag.P2p.Muxing;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Tests.Support;

namespace QuDag.P2p.Tests.Muxing;

/// <summary>
/// Who writes the connection: a caller inline (a conversation, the role free) or the writer loop (bursts, control
/// frames, backlogs). Whichever writes, frames leave in order, whole, and a failure ends the session.
/// </summary>
public sealed class YamuxFrameWriterTests
{
    public static TheoryData<Transport> Transports => new() { Transport.Duplex, Transport.Tcp, Transport.NoiseTcp };

    [Theory, MemberData(nameof(Transports))]
    public async Task A_conversation_is_written_inline_and_a_burst_by_the_loop(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        YamuxFrameWriter writer = pair.Dialer.Writer;
        MuxedStream talk = await pair.Dialer.OpenStreamAsync(default);
        await talk.WriteAsync(new byte[] { 0 });
        MuxedStream echo = await pair.Listener.AcceptStreamAsync(default);
        Task echoing = EchoAsync(echo);

        byte[] reply = new byte[32];
        await talk.ReadExactlyAsync(reply.AsMemory(0, 1)).AsTask().WaitAsync(Wait.Long);
        long inlineBefore = writer.InlineWrites;
        for (int i = 0; i < 10; i++)
        {
            // Each write follows the peer's answer with nothing else queued: the caller writes it itself.
            await talk.WriteAsync(Wait.Pattern(32, i));
            await talk.ReadExactlyAsync(reply).AsTask().WaitAsync(Wait.Long);
            Assert.Equal(Wait.Pattern(32, i), reply);
        }
        Assert.Equal(10, writer.InlineWrites - inlineBefore);

        // A one-way burst: after at most one inline write the loop takes over and batches.
        MuxedStream burst = await pair.Dialer.OpenStreamAsync(default);
        inlineBefore = writer.InlineWrites;
        long loopBefore = writer.LoopWrites;
        byte[] message = Wait.Pattern(64, 99);
        for (int i = 0; i < 1000; i++)
            await burst.WriteAsync(message);
        await burst.CloseWriteAsync();
        MuxedStream sink = await pair.Listener.AcceptStreamAsync(default);
        byte[] received = await Wait.ReadToEndAsync(sink).WaitAsync(Wait.Long);
        Assert.Equal(64_000, received.Length);
        Assert.True(writer.InlineWrites - inlineBefore <= 1, $"{writer.InlineWrites - inlineBefore} inline writes in a burst");
        Assert.True(writer.LoopWrites > loopBefore);

        await talk.CloseWriteAsync();
        await echoing.WaitAsync(Wait.Long);
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task A_readers_window_update_is_written_on_its_own_thread(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        MuxedStream a = await pair.Dialer.OpenStreamAsync(default);
        byte[] half = Wait.Pattern(YamuxOptions.SpecInitialWindow / 2, 4);
        await a.WriteAsync(half);
        var b = (YamuxStream)await pair.Listener.AcceptStreamAsync(default);
        await Wait.UntilAsync(() => b.BufferedBytes == half.Length && !pair.Listener.Writer.WriteInProgress, "half a window arrived, the ACK is out");

        long inlineBefore = pair.Listener.Writer.InlineWrites;
        byte[] received = new byte[half.Length];
        await b.ReadExactlyAsync(received).AsTask().WaitAsync(Wait.Long); // consumes half a window: grants it back
        Assert.Equal(half, received);
        Assert.Equal(1, pair.Listener.Writer.InlineWrites - inlineBefore);

        // The credit arrived: a full window more goes through.
        byte[] more = Wait.Pattern(YamuxOptions.SpecInitialWindow, 5);
        Task writing = a.WriteAsync(more).AsTask();
        byte[] rest = new byte[more.Length];
        await b.ReadExactlyAsync(rest).AsTask().WaitAsync(Wait.Long);
        await writing.WaitAsync(Wait.Long);
        Assert.Equal(more, rest);
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task An_idle_session_holds_no_write_buffers(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        Assert.False(pair.Dialer.Writer.HoldsBuffers); // nothing written yet: nothing rented
        MuxedStream stream = await pair.Dialer.OpenStreamAsync(default);
        await stream.WriteAsync(Wait.Pattern(20_000, 1)); // grows the queue past its first 4 KiB
        MuxedStream accepted = await pair.Listener.AcceptStreamAsync(default);
        byte[] received = new byte[20_000];
        await accepted.ReadExactlyAsync(received).AsTask().WaitAsync(Wait.Long);
        await accepted.WriteAsync(received.AsMemory(0, 100));
        await stream.ReadExactlyAsync(received.AsMemory(0, 100)).AsTask().WaitAsync(Wait.Long);
        await stream.WriteAsync(received.AsMemory(0, 10)); // inline
        Assert.True(await pair.Dialer.PingAsync(default) > TimeSpan.Zero);

        // Once every queued frame is written, the buffers are back in the pool on both ends.
        await Wait.UntilAsync(() => !pair.Dialer.Writer.WriteInProgress && !pair.Dialer.Writer.HoldsBuffers, "the dialer's writer is idle and empty");
        await Wait.UntilAsync(() => !pair.Listener.Writer.WriteInProgress && !pair.Listener.Writer.HoldsBuffers, "the listener's writer is idle and empty");
        await accepted.ReadExactlyAsync(received.AsMemory(0, 10)).AsTask().WaitAsync(Wait.Long); // and the session still works
        Assert.True(pair.Dialer.IsOpen && pair.Listener.IsOpen);
    }

    [Theory, MemberData(nameof(Transports))]
    public async Task Many_concurrent_writers_mixing_inline_and_loop_writes_keep_every_stream_in_order(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        Task accepting = Task.Run(async () =>
        {
            var echoes = new List<Task>();
            for (int i = 0; i < 16; i++)
                echoes.Add(EchoAsync(await pair.Listener.AcceptStreamAsync(default)));
            await Task.WhenAll(echoes);
        });

        // Each writer alternates conversations (write, read the echo: inline writes) with bursts of writes
        // (queued behind whoever holds the role), all 16 at once, so the two paths interleave.
        var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            MuxedStream stream = await pair.Dialer.OpenStreamAsync(default);
            var random = new Random(w);
            var sent = new MemoryStream();
            var echoed = new MemoryStream();
            byte[] buffer = new byte[16 * 1024];
            for (int round = 0; round < 40; round++)
            {
                int writes = random.Next(1, 6);
                int expected = 0;
                for (int i = 0; i < writes; i++)
                {
                    byte[] chunk = Wait.Pattern(random.Next(1, 3000), w * 1000 + round * 10 + i);
                    await stream.WriteAsync(chunk);
                    sent.Write(chunk);
                    expected += chunk.Length;
                }
                while (expected > 0)
                {
                    int n = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, expected))).AsTask().WaitAsync(Wait.Long);
                    Assert.True(n > 0);
                    echoed.Write(buffer, 0, n);
                    expected -= n;
                }
            }
            await stream.CloseWriteAsync();
            Assert.Equal(0, await stream.ReadAsync(buffer).AsTask().WaitAsync(Wait.Long));
            Assert.Equal(sent.ToArray(), echoed.ToArray());
        })).ToArray();

        await Task.WhenAll(writers).WaitAsync(Wait.Long);
        await accepting.WaitAsync(Wait.Long);
        Assert.True(pair.Dialer.Writer.InlineWrites > 0 && pair.Dialer.Writer.LoopWrites > 0,
            $"inline {pair.Dialer.Writer.InlineWrites}, loop {pair.Dialer.Writer.LoopWrites}");
        Assert.True(pair.Dialer.IsOpen && pair.Listener.IsOpen);
    }

    [Fact]
    public async Task A_cancelled_writer_never_leaves_part_of_a_frame_on_the_wire()
    {
        (Stream a, Stream b) = Duplex.CreatePair();
        var gated = new ControlledStream(a);
        var options = new YamuxOptions { MaxFrameSize = 1024, MaxOutboundBufferBytes = 4096 };
        await using var session = new YamuxSession(gated, isInitiator: true, options);
        await using var peer = new RawPeer(b);
        var stream = (YamuxStream)await session.OpenStreamAsync(default);
        await peer.ReadFrameAsync(); // the SYN
        await peer.SendAsync(FrameTypes.Ping, FrameTypes.Syn, 0, 7); // the peer speaks: the next write may go inline
        await peer.ReadFrameAsync(); // the ping's answer
        await Wait.UntilAsync(() => !session.Writer.WriteInProgress, "the writer is idle");

        gated.HoldWrites();
        var written = new List<byte[]>();
        using var cancelled = new CancellationTokenSource();
        // Inline: the connection cannot finish it now, so the loop awaits it; the caller is free at once.
        byte[] first = Wait.Pattern(1000, 1);
        await stream.WriteAsync(first, cancelled.Token).AsTask().WaitAsync(Wait.Long);
        written.Add(first);
        Assert.Equal(1, session.Writer.InlineWrites);
        // Fill the queue while the connection holds the first write, then leave a write waiting for room.
        Task? waiting = null;
        for (int i = 2; waiting is null; i++)
        {
            byte[] next = Wait.Pattern(1000, i);
            Task write = stream.WriteAsync(next, cancelled.Token).AsTask();
            if (write.IsCompleted)
            {
                await write;
                written.Add(next);
            }
            else
            {
                waiting = write;
            }
        }
        cancelled.Cancel(); // with the first write in flight on the connection and one waiting for room
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Wait.Long));
        Assert.False(gated.SawCancelledToken);

        gated.ReleaseWrites();
        byte[] last = "after"u8.ToArray();
        await stream.WriteAsync(last).AsTask().WaitAsync(Wait.Long);
        written.Add(last);
        await stream.CloseWriteAsync();

        // Every frame whole and in order: exactly the writes that succeeded, then FIN.
        var received = new MemoryStream();
        while (true)
        {
            var frame = await peer.ReadFrameAsync();
            Assert.Equal(FrameTypes.Data, frame.Type);
            Assert.Equal(stream.StreamId, frame.StreamId);
            received.Write(frame.Payload);
            if ((frame.Flags & FrameTypes.Fin) != 0)
                break;
        }
        Assert.Equal(written.SelectMany(x => x).ToArray(), received.ToArray());
        Assert.True(session.IsOpen);
    }

    [Fact]
    public async Task A_failed_inline_write_ends_the_session_as_a_loop_failure_does()
    {
        (Stream a, Stream b) = Duplex.CreatePair();
        var failing = new ControlledStream(a);
        await using var session = new YamuxSession(failing, isInitiator: true);
        await using var peer = new RawPeer(b);
        var stream = (YamuxStream)await session.OpenStreamAsync(default);
        await peer.ReadFrameAsync(); // the SYN
        await peer.SendAsync(FrameTypes.Ping, FrameTypes.Syn, 0, 7);
        await peer.ReadFrameAsync();
        await Wait.UntilAsync(() => !session.Writer.WriteInProgress, "the writer is idle");

        failing.FailWrites(new IOException("the connection broke"));
        await stream.WriteAsync(new byte[10]); // queued and written inline: the write's failure is the session's
        Assert.Equal(1, session.Writer.InlineWrites);

        var error = await Assert.ThrowsAsync<IOException>(() => session.Completion.WaitAsync(Wait.Long));
        Assert.Equal("the connection broke", error.Message);
        Assert.False(session.IsOpen);
        await Assert.ThrowsAsync<StreamResetException>(() => stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Wait.Long));
        await Assert.ThrowsAnyAsync<P2pException>(() => session.OpenStreamAsync(default).AsTask());
    }

    [Fact]
    public async Task The_reader_loop_keeps_reading_while_no_write_can_complete()
    {
        // The reader queues ping answers and ACKs and never writes them itself: with a connection that takes no
        // writes at all (a peer that does not read), it still delivers every byte the peer sends.
        (Stream a, Stream b) = Duplex.CreatePair();
        var stuck = new ControlledStream(a);
        await using var session = new YamuxSession(stuck, isInitiator: false);
        await using var peer = new RawPeer(b);
        stuck.HoldWrites();

        await peer.SendAsync(FrameTypes.Data, FrameTypes.Syn, 1, 3, "abc"u8.ToArray());
        for (uint i = 0; i < 100; i++)
            await peer.SendAsync(FrameTypes.Ping, FrameTypes.Syn, 0, i);
        await peer.SendAsync(FrameTypes.Data, FrameTypes.Fin, 1, 3, "def"u8.ToArray());

        MuxedStream stream = await session.AcceptStreamAsync(default).AsTask().WaitAsync(Wait.Long);
        Assert.Equal("abcdef"u8.ToArray(), await Wait.ReadToEndAsync(stream).WaitAsync(Wait.Long));
        await stream.WriteAsync("reply"u8.ToArray()).AsTask().WaitAsync(Wait.Long); // queued behind the held write

        stuck.ReleaseWrites();
        var frame = await peer.ReadUntilAsync(f => f.Type == FrameTypes.Data && f.Payload.Length > 0);
        Assert.Equal("reply"u8.ToArray(), frame.Payload);
    }

    private static async Task EchoAsync(MuxedStream stream)
    {
        byte[] buffer = new byte[16 * 1024];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
            await stream.WriteAsync(buffer.AsMemory(0, n));
        await stream.CloseWriteAsync();
    }

    /// <summary>A connection whose writes can be held (they complete when released) or made to fail; it
    /// records whether a write was ever handed a token that was cancelled while it was pending.</summary>
    private sealed class ControlledStream(Stream inner) : Stream
    {
        private readonly Lock _lock = new();
        private TaskCompletionSource? _held;
        private Exception? _failure;

        public bool SawCancelledToken { get; private set; }

        public void HoldWrites()
        {
            lock (_lock)
                _held ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public void ReleaseWrites()
        {
            TaskCompletionSource? held;
            lock (_lock)
            {
                held = _held;
                _held = null;
            }
            held?.TrySetResult();
        }

        public void FailWrites(Exception failure) => _failure = failure;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_failure is { } failure)
                throw failure;
            Task? held;
            lock (_lock)
                held = _held?.Task;
            return held is null ? inner.WriteAsync(buffer, cancellationToken) : WriteHeldAsync(held, buffer, cancellationToken);
        }

        private async ValueTask WriteHeldAsync(Task held, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
        {
            await held.WaitAsync(cancellationToken);
            if (cancellationToken.IsCancellationRequested)
                SawCancelledToken = true;
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }

        public override ValueTask DisposeAsync()
        {
            ReleaseWrites();
            return inner.DisposeAsync();
        }
    }
}
