using System.Buffers;
using System.Runtime.CompilerServices;

namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// The inbound half of the connection, used by the session's reader loop only: hands out headers and payload pieces
/// where the bytes lie, so a frame costs no allocation and no read of its own, and a payload is copied once, into the
/// stream (or straight into its waiting reader). A connection that lends its buffer (<see cref="IBufferedReadStream"/>:
/// Noise, which decrypts in place) is parsed in that buffer, and this reader holds none; any other (TLS) is read in
/// chunks into a pooled buffer of this reader's, small at first and large once the bytes stream in.
/// <para>
/// An idle connection waits between frames holding no buffer: the session's loop calls <see cref="WaitAsync"/> itself,
/// so nothing of this reader's is pending meanwhile either.
/// </para>
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
    private const int SmallBufferSize = 1024;
    private const int BufferSize = 64 * 1024;

    private readonly IBufferedReadStream? _lender = connection as IBufferedReadStream;

    // The lender's bytes not yet consumed (lending connections).
    private ReadOnlyMemory<byte> _lent;
    private StagedHeader _staged;           // a header split between two of the lender's frames
    private int _stagedCount;

    // This reader's own buffer (other connections).
    private byte[] _buffer = [];
    private int _start;
    private int _end;

    private YamuxStream? _wake;             // readers to wake once the loop parks (usually one)
    private List<YamuxStream>? _wakeMore;

    [System.Runtime.CompilerServices.InlineArray(YamuxHeader.Size)]
    private struct StagedHeader
    {
        private byte _first;
    }

    /// <summary>The bytes at hand: lent, or in this reader's buffer.</summary>
    private ReadOnlySpan<byte> Available => _lender is null ? _buffer.AsSpan(_start, _end - _start) : _lent.Span;

    private void Take(int count)
    {
        if (_lender is null)
        {
            _start += count;
        }
        else
        {
            // An empty loan keeps no reference: the lender's buffer goes back to the pool when all of it is taken.
            _lent = count == _lent.Length ? default : _lent[count..];
            _lender.Consume(count);
        }
    }

    /// <summary>True when nothing is buffered here or below: the next header needs <see cref="WaitAsync"/> first.</summary>
    public bool IsIdle => _lender is null ? _end == _start : _lent.IsEmpty && _stagedCount == 0 && !_lender.HasBuffered;

    /// <summary>Waits, holding no buffer, until the connection has bytes or has ended (an idle connection's wait).</summary>
    public ValueTask<int> WaitAsync(CancellationToken cancellationToken)
    {
        if (_lender is not null)
            return _lender.WaitAsync(cancellationToken);
        ReturnBuffer();
        return connection.ReadAsync(Memory<byte>.Empty, cancellationToken);
    }

    /// <summary>The next header when it is at hand, without waiting.</summary>
    public bool TryReadHeader(out YamuxHeader header)
    {
        ReadOnlySpan<byte> available = Available;
        if (_stagedCount == 0 && available.Length >= YamuxHeader.Size)
        {
            header = YamuxHeader.Read(available);
            Take(YamuxHeader.Size);
            return true;
        }
        header = default;
        return false;
    }

    /// <summary>The next header; null on a clean end of the connection between frames.</summary>
    public async ValueTask<YamuxHeader?> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryReadHeader(out YamuxHeader header))
                return header;
            if (_lender is null)
            {
                if (!await FillAsync(YamuxHeader.Size, atFrameBoundary: true, cancellationToken).ConfigureAwait(false))
                    return null;
                continue;
            }
            // A header split between two of the lender's frames is put together here.
            ReadOnlySpan<byte> available = _lent.Span;
            if (!available.IsEmpty)
            {
                int n = Math.Min(available.Length, YamuxHeader.Size - _stagedCount);
                available[..n].CopyTo(((Span<byte>)_staged)[_stagedCount..]);
                _stagedCount += n;
                Take(n);
            }
            if (_stagedCount == YamuxHeader.Size)
            {
                _stagedCount = 0;
                return YamuxHeader.Read(_staged);
            }
            if (!await LendMoreAsync(atFrameBoundary: _stagedCount == 0, cancellationToken).ConfigureAwait(false))
                return null;
        }
    }

    /// <summary>Hands <paramref name="length"/> payload bytes to <paramref name="stream"/> piece by piece.</summary>
    public async ValueTask DeliverAsync(YamuxStream stream, int length, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            if (Available.IsEmpty)
                await MoreAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySpan<byte> available = Available;
            int n = Math.Min(length, available.Length);
            if (stream.Deliver(available[..n]))
                AddWake(stream);
            Take(n);
            length -= n;
        }
    }

    /// <summary>Reads past a payload nobody may have (the caller has already capped its length).</summary>
    public async ValueTask SkipAsync(uint length, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            if (Available.IsEmpty)
                await MoreAsync(cancellationToken).ConfigureAwait(false);
            int n = (int)Math.Min(length, (uint)Available.Length);
            Take(n);
            length -= (uint)n;
        }
    }

    /// <summary>More bytes inside a frame; its end there is a truncated frame, a protocol error.</summary>
    private async ValueTask MoreAsync(CancellationToken cancellationToken)
    {
        if (_lender is null)
            await FillAsync(1, atFrameBoundary: false, cancellationToken).ConfigureAwait(false);
        else
            await LendMoreAsync(atFrameBoundary: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The lender's next bytes (all lent ones are consumed); false on a clean end between frames.</summary>
    private async ValueTask<bool> LendMoreAsync(bool atFrameBoundary, CancellationToken cancellationToken)
    {
        ValueTask<ReadOnlyMemory<byte>> reading = _lender!.ReadBufferedAsync(cancellationToken);
        // Readers wait for the loop to park only where it parks: on a header it has to wait for (the session
        // awaits ParkThenWake then). Anywhere else (mid-frame, or more data at once) they go now, so a
        // long run of frames never holds them back.
        if (!atFrameBoundary || reading.IsCompleted)
            WakeReaders();
        _lent = await reading.ConfigureAwait(false);
        if (!_lent.IsEmpty)
            return true;
        if (atFrameBoundary)
            return false;
        throw new P2pProtocolException("The connection ended inside a yamux frame.");
    }

    /// <summary>Makes at least <paramref name="count"/> bytes available in this reader's buffer; false on a clean end
    /// between frames. An end inside a frame is a truncated frame: a protocol error.</summary>
    private async ValueTask<bool> FillAsync(int count, bool atFrameBoundary, CancellationToken cancellationToken)
    {
        if (_end - _start >= count)
            return true;
        PrepareBuffer();
        while (_end < count)
        {
            ValueTask<int> reading = connection.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
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

    /// <summary>Moves what is unread to the buffer's front; rents the small buffer after an idle wait, and the large one
    /// once a read filled the small one (the bytes are streaming in).</summary>
    private void PrepareBuffer()
    {
        int pending = _end - _start;
        int size = _buffer.Length == 0 ? SmallBufferSize : _end == _buffer.Length ? BufferSize : _buffer.Length;
        if (_buffer.Length < size)
        {
            byte[] larger = ArrayPool<byte>.Shared.Rent(size);
            _buffer.AsSpan(_start, pending).CopyTo(larger);
            ReturnBuffer();
            _buffer = larger;
        }
        else if (_start > 0)
        {
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
        }
        _start = 0;
        _end = pending;
    }

    private void ReturnBuffer()
    {
        byte[] buffer = _buffer;
        _buffer = [];
        _start = _end = 0;
        if (buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(buffer);
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
        (YamuxStream? one, List<YamuxStream>? more) = TakeWake();
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
    /// The session's reader loop awaits its next wait or header with this when it is not there yet: once the loop's own
    /// continuation is registered with <paramref name="next"/> (every frame below it has registered its own already),
    /// the readers are woken on this thread (see the type's remarks). Only the outermost await of the loop may use it:
    /// a frame below would still be on this thread's stack, unregistered.
    /// </summary>
    public ParkThenWake<T> ParkThenWakeReaders<T>(ValueTask<T> next) => new(next, this);

    /// <summary>The readers to wake, taken: the caller wakes them.</summary>
    private (YamuxStream?, List<YamuxStream>?) TakeWake()
    {
        var taken = (_wake, _wakeMore);
        _wake = null;
        _wakeMore = null;
        return taken;
    }

    /// <summary>See <see cref="ParkThenWakeReaders"/>.</summary>
    /// <remarks>
    /// The streams to wake are taken from the reader when the continuation is registered, not carried in the awaiter:
    /// the loop's state machine keeps its awaiter in a field for as long as it waits, which for an idle connection is
    /// its whole life, and a stream carried there (with its scope and read state) outlived its use by that long (about
    /// 170-300 B per idle connection, measured). They are taken before the registration, while the loop's thread is
    /// the only one that can touch them: once registered, the loop may resume elsewhere and queue new ones.
    /// </remarks>
    public readonly struct ParkThenWake<T>(ValueTask<T> read, YamuxFrameReader reader) : ICriticalNotifyCompletion
    {
        public ParkThenWake<T> GetAwaiter() => this;

        public bool IsCompleted => false;

        public T GetResult() => read.GetAwaiter().GetResult();

        public void OnCompleted(Action continuation)
        {
            (YamuxStream? one, List<YamuxStream>? more) = reader.TakeWake();
            read.ConfigureAwait(false).GetAwaiter().OnCompleted(continuation);
            Wake(one, more);
        }

        public void UnsafeOnCompleted(Action continuation)
        {
            (YamuxStream? one, List<YamuxStream>? more) = reader.TakeWake();
            read.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(continuation);
            Wake(one, more);
        }

        private static void Wake(YamuxStream? one, List<YamuxStream>? more)
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

    /// <summary>Gives back what this reader holds (its buffer, the lender's bytes); only once the reader loop has ended.</summary>
    public void Dispose()
    {
        ReturnBuffer();
        if (_lender is not null && !_lent.IsEmpty)
        {
            int count = _lent.Length;
            _lent = default;
            _lender.Consume(count); // the lender's buffer goes back when all it lent is taken
        }
    }
}
