using System.Buffers;
using System.Runtime.CompilerServices;

namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// The inbound half of the connection: reads it in large chunks into one pooled buffer and hands out
/// headers and payload pieces from it, so a frame costs no allocation and no read of its own. A payload goes
/// straight from this buffer into the stream's buffer (one copy). Used by the session's reader loop only.
/// <para>
/// Readers waiting for delivered data are woken once the loop has parked on its next read of the connection,
/// on the loop's thread: the socket's completion then costs one thread-pool dispatch for the whole way to the
/// application, as bare TCP does, instead of a second one to resume the reader. It is safe because the loop has
/// already registered its own continuation: a reader that blocks or runs long holds this thread, not the
/// session, whose next frames are read on another thread. Where the loop does not park (the next read is
/// already there, or it waits mid-frame) the readers are woken through the thread pool, as before.
/// </para>
/// </summary>
internal sealed class YamuxFrameReader(Stream connection) : IDisposable
{
    private const int BufferSize = 64 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _start;
    private int _end;
    private YamuxStream? _wake;             // readers to wake once the loop parks (usually one)
    private List<YamuxStream>? _wakeMore;

    /// <summary>The next header; null on a clean end of the connection between frames.</summary>
    public async ValueTask<YamuxHeader?> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        if (!await FillAsync(YamuxHeader.Size, atFrameBoundary: true, cancellationToken).ConfigureAwait(false))
            return null;
        YamuxHeader header = YamuxHeader.Read(_buffer.AsSpan(_start, YamuxHeader.Size));
        _start += YamuxHeader.Size;
        return header;
    }

    /// <summary>Hands <paramref name="length"/> payload bytes to <paramref name="stream"/> piece by piece.</summary>
    public async ValueTask DeliverAsync(YamuxStream stream, int length, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            if (_end == _start)
                await FillAsync(1, atFrameBoundary: false, cancellationToken).ConfigureAwait(false);
            int n = Math.Min(length, _end - _start);
            if (stream.Deliver(_buffer.AsSpan(_start, n)))
                AddWake(stream);
            _start += n;
            length -= n;
        }
    }

    /// <summary>Reads past a payload nobody may have (the caller has already capped its length).</summary>
    public async ValueTask SkipAsync(uint length, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            if (_end == _start)
                await FillAsync(1, atFrameBoundary: false, cancellationToken).ConfigureAwait(false);
            int n = (int)Math.Min(length, (uint)(_end - _start));
            _start += n;
            length -= (uint)n;
        }
    }

    /// <summary>Makes at least <paramref name="count"/> bytes available; false on a clean end between frames.
    /// An end inside a frame is a truncated frame: a protocol error.</summary>
    private async ValueTask<bool> FillAsync(int count, bool atFrameBoundary, CancellationToken cancellationToken)
    {
        if (_end - _start >= count)
            return true;
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (atFrameBoundary && _end == 0)
            await WaitForDataAsync(cancellationToken).ConfigureAwait(false);
        while (_end < count)
        {
            ValueTask<int> reading = connection.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            // Readers wait for the loop to park only where it parks: on a header it has to wait for (the session
            // awaits ParkThenWake then). Anywhere else (mid-frame, or more data at once) they go now, so a
            // long run of frames never holds them back.
            if (!atFrameBoundary || reading.IsCompleted)
                WakeReaders();
            int read = await reading.ConfigureAwait(false);
            if (read == 0)
            {
                if (atFrameBoundary && _end == 0)
                    return false;
                throw new P2pProtocolException("The connection ended inside a yamux frame.");
            }
            _end += read;
        }
        return true;
    }

    /// <summary>
    /// An idle connection waits here between frames without a buffer: the pooled one goes back, a zero-byte read
    /// waits for data (Noise, TLS and sockets support it, as SslStream does), and a buffer is rented again only when
    /// bytes are there. Otherwise every idle connection would pin 64 KiB here, and the security layer its own below.
    /// </summary>
    private async ValueTask WaitForDataAsync(CancellationToken cancellationToken)
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        try
        {
            await connection.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        }
    }

    private void AddWake(YamuxStream stream)
    {
        if (_wake is null)
            _wake = stream;
        else if (!ReferenceEquals(_wake, stream) && (_wakeMore is not { Count: > 0 } || !ReferenceEquals(_wakeMore[^1], stream)))
            (_wakeMore ??= []).Add(stream);
    }

    /// <summary>Wakes the pending readers through the thread pool (the loop is not about to park).</summary>
    public void WakeReaders()
    {
        YamuxStream? one = _wake;
        List<YamuxStream>? more = _wakeMore;
        _wake = null;
        _wakeMore = null;
        one?.WakeReader(inline: false);
        if (more is not null)
        {
            foreach (YamuxStream stream in more)
                stream.WakeReader(inline: false);
        }
    }

    /// <summary>True when delivered data waits for its readers to be woken.</summary>
    public bool HasReadersToWake => _wake is not null;

    /// <summary>
    /// The session's reader loop awaits its next header with this when the header is not there yet: once the
    /// loop's own continuation is registered with <paramref name="next"/> (every frame below it has registered
    /// its own already), the readers are woken on this thread (see the type's remarks). Only the outermost
    /// await of the loop may use it: a frame below would still be on this thread's stack, unregistered.
    /// </summary>
    public ParkThenWake ParkThenWakeReaders(ValueTask<YamuxHeader?> next)
    {
        var park = new ParkThenWake(next, _wake, _wakeMore);
        _wake = null;
        _wakeMore = null;
        return park;
    }

    /// <summary>See <see cref="ParkThenWakeReaders"/>.</summary>
    public readonly struct ParkThenWake(ValueTask<YamuxHeader?> read, YamuxStream? one, List<YamuxStream>? more) : ICriticalNotifyCompletion
    {
        public ParkThenWake GetAwaiter() => this;

        public bool IsCompleted => false;

        public YamuxHeader? GetResult() => read.GetAwaiter().GetResult();

        public void OnCompleted(Action continuation)
        {
            read.ConfigureAwait(false).GetAwaiter().OnCompleted(continuation);
            Wake();
        }

        public void UnsafeOnCompleted(Action continuation)
        {
            read.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(continuation);
            Wake();
        }

        private void Wake()
        {
            if (more is not null)
            {
                // Several readers: the others go through the thread pool first, so the one run here holds up none.
                foreach (YamuxStream stream in more)
                    stream.WakeReader(inline: false);
            }
            one?.WakeReader(inline: true);
        }
    }

    /// <summary>Returns the buffer to the pool; only once the reader loop has ended.</summary>
    public void Dispose()
    {
        byte[] buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(buffer);
    }
}
