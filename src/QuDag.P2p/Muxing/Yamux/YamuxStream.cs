using QuDag.P2p.Resources;

namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// One yamux stream. The session's reader loop feeds it (data, window credit, FIN, RST); the application
/// reads and writes it. Flow control: the remote may send at most the window we granted; we grant more only
/// as the application consumes, in one WindowUpdate per half window (as go-yamux does), so a slow reader
/// bounds its buffer to one window. Writes wait for the remote's credit. One read and one write may be
/// pending at a time, as with any <see cref="Stream"/>.
/// </summary>
public sealed class YamuxStream : MuxedStream
{
    private readonly YamuxSession _session;
    private readonly uint _id;
    private readonly int _window;
    private readonly Lock _lock = new();
    private readonly AsyncSignal _readable = new();
    private readonly AsyncSignal _writable = new();
    private readonly StreamScope? _scope;  // what the stream holds in the node's resource scopes (null: accounting off)

    // Receive side, guarded by _lock.
    private YamuxReceiveBuffer _received;
    private int _receiveCredit;   // what the remote may still send
    private int _consumed;        // consumed since the last WindowUpdate
    private bool _remoteClosed;   // FIN received
    private bool _drainAfterEnd;  // the session ended cleanly after the remote's FIN: buffered data stays readable
    private Memory<byte> _readInto; // a waiting read's buffer, lent to the reader loop (Deliver copies into it first)
    private int _readIntoCount;     // bytes Deliver copied into _readInto

    // Send side: the reader loop adds credit, the single writer takes it.
    private long _sendCredit = YamuxOptions.SpecInitialWindow;
    private bool _localClosed;    // FIN requested (sent, or deferred to the write in flight)
    private int _writeState;      // Writing | FinRequested | FinSent

    private Exception? _resetError;
    private bool _disposed;
    private bool _released;       // removed from the session's table
    private long _closedAt;       // disposed while the remote had not closed: when (a timestamp), else 0
    private int _acknowledged;    // outbound: 1 once the remote's ACK (or the end) freed our pending slot

    internal YamuxStream(YamuxSession session, uint id, int window, bool outbound, StreamScope? scope = null)
    {
        _session = session;
        _scope = scope;
        _id = id;
        _window = window;
        _receiveCredit = window;
        _acknowledged = outbound ? 0 : 1;
    }

    public override long Id => _id;

    /// <inheritdoc/>
    public override StreamScope? Scope => _scope;

    internal uint StreamId => _id;

    /// <summary>True once the stream has left the session's table (read without its lock: a hint for the table's cache).</summary>
    internal bool IsReleased => Volatile.Read(ref _released);

    private bool _waitingForCredit; // one write at a time

    internal override bool WaitingForCredit => Volatile.Read(ref _waitingForCredit);

    /// <summary>Bytes received and not yet read (never more than the window).</summary>
    internal int BufferedBytes
    {
        get { lock (_lock) return _received.Count; }
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // ---- reading -------------------------------------------------------------------------------------

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override int Read(Span<byte> buffer)
    {
        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            int n = ReadAsync(rented.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
            rented.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>
    /// Reads what is buffered, waiting for data; 0 once the remote closed its side and all was read. A read that waits
    /// with nothing buffered lends its buffer to the session's reader loop, which copies what arrives straight into it
    /// (one copy from the connection's buffer to the application's, instead of two through the stream's own).
    /// </summary>
    // Pooled: a request/response or ping stream waits in here once per message.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            int read;
            int credit = 0;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_resetError is not null && !_drainAfterEnd)
                    throw Reset(_resetError);
                if (_received.Count > 0)
                {
                    read = buffer.IsEmpty ? 0 : _received.Read(buffer.Span, _scope);
                    credit = TakeCredit(read);
                }
                else if (_remoteClosed)
                {
                    return 0;
                }
                else
                {
                    read = -1;
                    _readInto = buffer;
                    _readIntoCount = 0;
                }
            }
            if (read >= 0)
            {
                if (credit > 0)
                    _session.SendWindowUpdateFromReader(_id, (uint)credit);
                return read;
            }
            try
            {
                await _readable.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Bytes already copied in are this read's: they are returned, not lost to the cancellation.
                if (TakeDirect() is var direct and > 0)
                    return direct;
                throw;
            }
            if (TakeDirect() is var delivered and > 0)
                return delivered;
        }
    }

    /// <summary>Ends a waiting read's loan of its buffer; how many bytes the reader loop copied into it.</summary>
    private int TakeDirect()
    {
        int direct, credit;
        lock (_lock)
        {
            direct = _readIntoCount;
            _readInto = default;
            _readIntoCount = 0;
            credit = direct > 0 ? TakeCredit(direct) : 0;
        }
        if (credit > 0)
            _session.SendWindowUpdateFromReader(_id, (uint)credit);
        return direct;
    }

    /// <summary>Counts consumed bytes and, once half a window was consumed, grants them back (under _lock).</summary>
    private int TakeCredit(int consumed)
    {
        _consumed += consumed;
        if (_consumed < _window / 2 || _remoteClosed || _resetError is not null)
            return 0;
        int credit = _consumed;
        _consumed = 0;
        // Raise our own bound before the remote can learn of it, so data sent on this credit always fits.
        _receiveCredit += credit;
        return credit;
    }

    // ---- writing -------------------------------------------------------------------------------------

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(ReadOnlySpan<byte> buffer) => WriteAsync(buffer.ToArray()).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>
    /// Queues <paramref name="buffer"/> as Data frames of at most MaxFrameSize, each within the remote's
    /// window; returns once the last one is queued (the bytes are copied, the buffer may be reused).
    /// </summary>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BeginWrite();
        bool handedOff = false;
        try
        {
            // The common case, a write within the window and a queue with room, completes synchronously.
            while (!buffer.IsEmpty)
            {
                ThrowIfCannotWrite();
                long credit = Volatile.Read(ref _sendCredit);
                if (credit <= 0)
                {
                    handedOff = true;
                    return WriteSlowAsync(null, 0, buffer, cancellationToken);
                }
                int n = (int)Math.Min(Math.Min(buffer.Length, credit), MaxEnqueue);
                Interlocked.Add(ref _sendCredit, -n);
                ValueTask queued;
                try
                {
                    queued = _session.Writer.EnqueueDataAsync(DataHeader, buffer[..n], _session.MaxFrameSize, cancellationToken);
                }
                catch
                {
                    Interlocked.Add(ref _sendCredit, n);
                    throw;
                }
                buffer = buffer[n..];
                if (!queued.IsCompletedSuccessfully)
                {
                    handedOff = true;
                    return WriteSlowAsync(queued, n, buffer, cancellationToken);
                }
            }
            return default;
        }
        finally
        {
            if (!handedOff)
                EndWrite();
        }
    }

    private async ValueTask WriteSlowAsync(ValueTask? queued, int queuedLength, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            if (queued is { } pending)
            {
                try
                {
                    await pending.ConfigureAwait(false);
                }
                catch
                {
                    Interlocked.Add(ref _sendCredit, queuedLength);
                    throw;
                }
            }
            while (!buffer.IsEmpty)
            {
                ThrowIfCannotWrite();
                long credit = Volatile.Read(ref _sendCredit);
                if (credit <= 0)
                {
                    Volatile.Write(ref _waitingForCredit, true);
                    try
                    {
                        await _writable.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        Volatile.Write(ref _waitingForCredit, false);
                    }
                    continue;
                }
                int n = (int)Math.Min(Math.Min(buffer.Length, credit), MaxEnqueue);
                Interlocked.Add(ref _sendCredit, -n);
                try
                {
                    await _session.Writer.EnqueueDataAsync(DataHeader, buffer[..n], _session.MaxFrameSize, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    Interlocked.Add(ref _sendCredit, n);
                    throw;
                }
                buffer = buffer[n..];
            }
        }
        finally
        {
            EndWrite();
        }
    }

    // A write is queued up to four frames at a time (the writer cuts them): one lock, and one inline send, for a 64 KiB
    // write, while the queue's bound is passed by at most this much.
    private int MaxEnqueue => 4 * _session.MaxFrameSize;

    private YamuxHeader DataHeader => new(YamuxFrameType.Data, YamuxFlags.None, _id, 0);

    private void ThrowIfCannotWrite()
    {
        Exception? reset = Volatile.Read(ref _resetError);
        if (reset is not null)
            throw Reset(reset);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
    }

    // A FIN must follow the last Data frame of a write that is in flight when the stream is closed from
    // another thread (Dispose during a write); this small lock-free state defers it to the writer.
    private const int Writing = 1, FinRequested = 2, FinSent = 4;

    private void BeginWrite()
    {
        while (true)
        {
            int state = Volatile.Read(ref _writeState);
            if ((state & FinRequested) != 0)
            {
                ThrowIfCannotWrite();
                throw new InvalidOperationException("The stream's write side is closed.");
            }
            if ((state & Writing) != 0)
                throw new InvalidOperationException("Only one write may be pending on a stream at a time.");
            if (Interlocked.CompareExchange(ref _writeState, state | Writing, state) == state)
                return;
        }
    }

    private void EndWrite()
    {
        while (true)
        {
            int state = Volatile.Read(ref _writeState);
            bool fin = (state & (FinRequested | FinSent)) == FinRequested;
            int next = (state & ~Writing) | (fin ? FinSent : 0);
            if (Interlocked.CompareExchange(ref _writeState, next, state) == state)
            {
                if (fin)
                    SendFin();
                return;
            }
        }
    }

    /// <summary>Asks for FIN once; sends it now unless a write is in flight (which then sends it).</summary>
    private void RequestFin()
    {
        while (true)
        {
            int state = Volatile.Read(ref _writeState);
            if ((state & FinRequested) != 0)
                return;
            bool now = (state & Writing) == 0;
            int next = state | FinRequested | (now ? FinSent : 0);
            if (Interlocked.CompareExchange(ref _writeState, next, state) == state)
            {
                if (now)
                    SendFin();
                return;
            }
        }
    }

    private void SendFin() => _session.SendControl(new YamuxHeader(YamuxFrameType.Data, YamuxFlags.Fin, _id, 0));

    /// <summary>Half-closes: queues FIN after everything written so far; reads go on.</summary>
    public override ValueTask CloseWriteAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        bool release;
        lock (_lock)
        {
            if (_resetError is not null)
                throw Reset(_resetError);
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_localClosed)
                return default;
            _localClosed = true;
            release = _remoteClosed;
        }
        RequestFin();
        if (release)
            Release();
        return default;
    }

    // ---- closing -------------------------------------------------------------------------------------

    /// <summary>Aborts both directions: sends RST, fails pending reads and writes.</summary>
    public override void Reset()
    {
        lock (_lock)
        {
            if (_resetError is not null || _released)
                return;
            _resetError = new StreamResetException($"Stream {_id} was reset locally.");
            _received.Clear(_scope);
        }
        _session.SendControl(new YamuxHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, _id, 0));
        WakeAll();
        Release();
    }

    /// <summary>Graceful close: FIN if not sent yet; unread data is dropped and credited back so the remote
    /// can finish; the stream leaves the session once the remote closes too (or resets).</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            bool sendFin = false, release = false, awaitRemote = false;
            int credit = 0;
            lock (_lock)
            {
                if (!_disposed)
                {
                    _disposed = true;
                    if (_resetError is null && !_released)
                    {
                        sendFin = !_localClosed;
                        _localClosed = true;
                        int dropped = _received.Clear(_scope);
                        if (!_remoteClosed)
                        {
                            credit = _consumed + dropped;
                            _consumed = 0;
                            _receiveCredit += credit;
                        }
                        release = _remoteClosed;
                        if (awaitRemote = !release)
                            _closedAt = _session.TimeProvider.GetTimestamp();
                    }
                    else
                    {
                        _received.Clear(_scope);
                    }
                }
            }
            if (sendFin)
                RequestFin();
            if (credit > 0)
                _session.SendWindowUpdate(_id, (uint)credit);
            WakeAll();
            if (release)
                Release();
            else if (awaitRemote)
                _session.OnStreamAwaitingRemoteClose();
        }
        base.Dispose(disposing);
    }

    // ---- fed by the session's reader loop --------------------------------------------------------------

    /// <summary>Takes <paramref name="length"/> bytes of the remote's credit; a protocol error if the remote
    /// overran the window it was granted or sends after its FIN.</summary>
    internal void Reserve(uint length)
    {
        lock (_lock)
        {
            if (_remoteClosed)
                throw new P2pProtocolException($"Yamux data on stream {_id} after its FIN.");
            if (length > (uint)_receiveCredit)
                throw new P2pProtocolException($"Yamux stream {_id}: the remote sent {length} bytes past the window it was granted ({_receiveCredit} left).");
            _receiveCredit -= (int)length;
        }
    }

    /// <summary>Data already reserved with <see cref="Reserve"/>: buffered, or dropped and credited back
    /// if the application has let the stream go. True when the reader should be woken: the caller (the reader
    /// loop) does it with <see cref="WakeReader"/> once it has parked on its next read.</summary>
    internal bool Deliver(ReadOnlySpan<byte> data)
    {
        int credit = 0;
        ResourceLimitExceededException? refused = null;
        lock (_lock)
        {
            if (_resetError is not null)
                return false;
            if (_disposed)
            {
                _consumed += data.Length;
                if (_consumed >= _window / 2 && !_remoteClosed)
                {
                    credit = _consumed;
                    _consumed = 0;
                    _receiveCredit += credit;
                }
            }
            else
            {
                if (_received.Count == 0 && _readInto.Length > _readIntoCount)
                {
                    // The reader waits with its buffer: straight in, behind nothing (the stream's buffer is empty). That
                    // buffer is the application's: nothing to reserve for it.
                    int n = Math.Min(data.Length, _readInto.Length - _readIntoCount);
                    data[..n].CopyTo(_readInto.Span[_readIntoCount..]);
                    _readIntoCount += n;
                    data = data[n..];
                }
                if (!data.IsEmpty && (refused = _received.Append(data, _scope)) is not null)
                {
                    // The scopes have no room for what the window let the remote send: the stream is reset, as go-yamux
                    // resets one whose memory it cannot reserve. The reader learns which limit did it.
                    _resetError = new StreamResetException($"Stream {_id} was reset: {refused.Message}", refused);
                    _received.Clear(_scope);
                }
            }
        }
        if (refused is not null)
        {
            _session.SendControl(new YamuxHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, _id, 0));
            WakeAll();
            Release();
            return false;
        }
        if (credit > 0)
            _session.SendWindowUpdate(_id, (uint)credit);
        return credit == 0;
    }

    /// <summary>Wakes a reader waiting for delivered data: on this thread when <paramref name="inline"/> (the reader
    /// loop has parked on its next read, so a reader that blocks stalls nobody), else through the thread pool.</summary>
    internal void WakeReader(bool inline)
    {
        if (inline)
            _readable.SetAndRunContinuation();
        else
            _readable.Set();
    }

    internal void AddSendCredit(uint delta)
    {
        if (Interlocked.Add(ref _sendCredit, delta) > uint.MaxValue)
            throw new P2pProtocolException($"Yamux stream {_id}: the remote's window grew past 2^32 bytes.");
        _writable.Set();
    }

    /// <summary>The remote's ACK: our pending-outbound slot is free again.</summary>
    internal void OnAcknowledged()
    {
        if (Interlocked.Exchange(ref _acknowledged, 1) == 0)
            _session.OnOutboundAcknowledged();
    }

    internal void OnRemoteFin()
    {
        bool release;
        lock (_lock)
        {
            if (_remoteClosed)
                return;
            _remoteClosed = true;
            release = _localClosed || _resetError is not null;
        }
        _readable.Set();
        if (release)
            Release();
    }

    /// <summary>The remote's RST, or the session's end: fails everything pending and leaves the session.</summary>
    /// <param name="error">What pending and later operations fail with.</param>
    /// <param name="sessionEndedCleanly">
    /// The session ended in order (our shutdown, or the remote's GoAway then close). A stream the remote had
    /// already finished (FIN) then keeps what it sent readable, and reads end with 0 as after any FIN: a last
    /// message written just before a close is not lost. Other streams are reset.
    /// </param>
    internal void Abort(StreamResetException error, bool sessionEndedCleanly = false)
    {
        lock (_lock)
        {
            if (_resetError is not null)
                return;
            _resetError = error;
            _drainAfterEnd = sessionEndedCleanly && _remoteClosed;
            if (!_drainAfterEnd)
                _received.Clear(_scope);
        }
        WakeAll();
        Release();
    }

    /// <summary>
    /// The session's close sweep: a stream disposed while the remote had not closed is reset (RST, released)
    /// once <paramref name="timeout"/> has passed since; returns the time it has left, or infinite if it is
    /// not waiting (any more).
    /// </summary>
    internal TimeSpan ExpireClose(TimeSpan timeout)
    {
        lock (_lock)
        {
            if (_closedAt == 0 || _released || _resetError is not null)
                return Timeout.InfiniteTimeSpan;
            TimeSpan left = timeout - _session.TimeProvider.GetElapsedTime(_closedAt);
            if (left > TimeSpan.Zero)
                return left;
        }
        Reset();
        return Timeout.InfiniteTimeSpan;
    }

    private void WakeAll()
    {
        _readable.Set();
        _writable.Set();
    }

    private void Release()
    {
        lock (_lock)
        {
            if (_released)
                return;
            _released = true;
        }
        if (Interlocked.Exchange(ref _acknowledged, 1) == 0)
            _session.OnOutboundAcknowledged();
        _session.OnStreamReleased(this);
        // Its slots and memory go back with it. A buffer still draining after a clean end is returned to the pool by
        // its reads; the scope counts it no longer.
        _scope?.Dispose();
    }

    // A fresh exception per throw: one instance thrown from many awaits would pile up their stack traces.
    private static StreamResetException Reset(Exception error) => error is StreamResetException reset
        ? new StreamResetException(reset.Message, reset.InnerException)
        : new StreamResetException("The stream was reset.", error);
}
