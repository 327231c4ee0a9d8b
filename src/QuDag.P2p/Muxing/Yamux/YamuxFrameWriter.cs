using System.Buffers;

namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// The session's one outbound queue and the one writer of the connection. Every stream copies its frames into
/// one buffer under a short lock; whoever holds the writer role swaps that buffer for a spare and hands all of
/// it to the connection in one WriteAsync, so many frames from many streams become one socket write or one
/// batch of Noise messages. The role is held by one party at a time, so frames leave in the order they were
/// queued (a stream's frames in order, its FIN after its data).
/// <para>
/// Who writes: a stream's Data frame (or a window update a stream's reader grants) that finds the role free, after
/// the peer has sent something since our last inline write (request/response traffic: a ping, an RPC), is written
/// inline on the caller's thread with the session's lifetime token: no thread-pool hand-off, which is what a round
/// trip paid for. Everything else (a burst of writes, other control frames, and always whatever the session's
/// reader loop queues: a reader blocked in a send while the peer blocks too is a deadlock) hands the role to a drain
/// on the thread pool, which writes the queue in batches until it is empty, as does a backlog that builds up while an
/// inline write runs. An inline write the connection cannot finish at once is handed to a drain to await, so a caller
/// never waits on the socket; an inline write that fails is handed over as its failure, which ends the session as any
/// write failure does.
/// </para>
/// <para>
/// The drain runs on demand, one at a time (whoever holds the role starts it), and ends when the queue is empty: an
/// idle session keeps no loop waiting, so no state machine, signal or cancellation registration of the writer's.
/// </para>
/// <para>
/// A write returns once its frame is queued (or written). Data waits while more than <c>limit</c> bytes are
/// queued (the backpressure); control frames (window updates, ACKs, RSTs, ping answers, GoAway) never wait, so
/// a reader can always grant credit, but the session's reader loop stops reading while control frames alone
/// pile up past the slack (a peer that floods pings without reading the answers stalls itself, not our memory).
/// </para>
/// </summary>
internal sealed class YamuxFrameWriter : IThreadPoolWorkItem
{
    private const int ControlSlack = 64 * 1024;
    private const int BufferSize = 4096;
    private const int InlineWriteBytes = 8 * 1024;

    private readonly Lock _lock = new();
    private readonly Stream _connection;
    private readonly CancellationToken _lifetime;
    private readonly int _limit;
    private readonly Action<object, Exception> _onFailed; // static: a capturing lambda cost every session 64 B
    private readonly object _onFailedState;

    // All guarded by _lock.
    private byte[] _buffer = [];  // where frames are queued; rented on the first frame
    private byte[] _spare = [];   // swapped in while a batch is written
    private int _length;
    private bool _busy;           // the writer role is taken (by an inline caller or the loop)
    private bool _flushPending;   // written since the last flush (the loop flushes once the queue ran dry)
    private bool _peerSpoke;      // the peer sent a frame since our last inline write
    private bool _closed;
    private bool _released;       // ReleaseBuffers ran: batches coming back go to the pool
    private bool _loopEnded;      // closed and drained, or failed: nobody will take a hand-off any more
    private TaskCompletionSource? _ended; // Completion, once asked for before the end
    private bool _hasHandoff;     // an inline write or flush the loop must await before anything else
    private ValueTask _handoff;
    private byte[]? _handoffBatch;
    private TaskCompletionSource? _space;

    /// <param name="connection">The connection every frame is written to.</param>
    /// <param name="limit">The data bound of the queue (see the type's remarks).</param>
    /// <param name="lifetime">The session's token: every write uses it, never a caller's, so a cancelled caller
    /// can never leave half a frame on the wire.</param>
    /// <param name="onFailed">Told once when a write fails (not when the lifetime token cancels one), with
    /// <paramref name="onFailedState"/>: the session ends.</param>
    /// <param name="onFailedState">What <paramref name="onFailed"/> is called with (the session).</param>
    public YamuxFrameWriter(Stream connection, int limit, CancellationToken lifetime, Action<object, Exception> onFailed, object onFailedState)
    {
        _connection = connection;
        _limit = limit;
        _lifetime = lifetime;
        _onFailed = onFailed;
        _onFailedState = onFailedState;
    }

    /// <summary>Completes once the writer has ended: closed and everything written, or a write failed or was cancelled.</summary>
    public Task Completion
    {
        get
        {
            lock (_lock)
                return _loopEnded ? Task.CompletedTask : (_ended ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    /// <summary>True once the writer has ended (see <see cref="Completion"/>).</summary>
    internal bool Ended
    {
        get { lock (_lock) return _loopEnded; }
    }

    /// <summary>The most bytes ever queued at once (what the bound is tested against).</summary>
    public int PeakQueuedBytes { get; private set; }

    /// <summary>The bound a queue never exceeds by more than one frame: data limit plus the control slack.</summary>
    public int HardLimit => _limit + ControlSlack;

    /// <summary>True while queued control frames exceed the slack: the reader loop should wait for room.</summary>
    public bool ControlBackedUp => Volatile.Read(ref _length) > _limit + ControlSlack;

    /// <summary>True while someone holds the writer role (a write or flush in progress, or queued frames).</summary>
    internal bool WriteInProgress
    {
        get { lock (_lock) return _busy; }
    }

    /// <summary>True while the queue holds pooled buffers (from the first frame until it is idle again).</summary>
    internal bool HoldsBuffers
    {
        get { lock (_lock) return _buffer.Length > 0 || _spare.Length > 0; }
    }

    /// <summary>How many batches callers wrote inline, and how many the loop wrote (for tests and profiles).</summary>
    public long InlineWrites { get; private set; }

    /// <inheritdoc cref="InlineWrites"/>
    public long LoopWrites { get; private set; }

    /// <summary>The session's reader loop got a frame: the next Data frame that finds the role free may be
    /// written inline (the traffic is a conversation, not a one-way burst that the loop batches better).</summary>
    public void OnPeerFrame() => Volatile.Write(ref _peerSpoke, true);

    /// <summary>
    /// Queues <paramref name="payload"/> as Data frames of at most <paramref name="maxFrame"/> bytes, all under one lock
    /// (the frames of one write stay together), waiting (cancellably) while the queue is full; writes them inline when
    /// the role is free and the traffic is a conversation or the write is large (see the type's remarks). Never call it
    /// from the session's reader loop.
    /// </summary>
    /// <param name="header">The frames' type, flags and stream id; each frame's length is its own.</param>
    /// <param name="payload">The bytes, within the stream's send credit.</param>
    /// <param name="maxFrame">The largest Data frame (the session's MaxFrameSize).</param>
    /// <param name="cancellationToken">Ends a wait for room in the queue.</param>
    public ValueTask EnqueueDataAsync(YamuxHeader header, ReadOnlyMemory<byte> payload, int maxFrame, CancellationToken cancellationToken)
    {
        return Enqueue(header, payload.Span, maxFrame, _limit, mayWriteInline: true) switch
        {
            Queued.Yes => default,
            Queued.Full => EnqueueDataSlowAsync(header, payload, maxFrame, cancellationToken),
            _ => throw Closed(),
        };
    }

    private async ValueTask EnqueueDataSlowAsync(YamuxHeader header, ReadOnlyMemory<byte> payload, int maxFrame, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task space = GetSpaceTask();
            Queued queued = Enqueue(header, payload.Span, maxFrame, _limit, mayWriteInline: true);
            if (queued == Queued.Closed)
                throw Closed();
            if (queued == Queued.Yes)
                return;
            await space.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Queues a control frame without waiting; false once the session is closed. Written inline only when
    /// <paramref name="mayWriteInline"/> says the caller is an application thread (never the session's reader loop).</summary>
    public bool TryEnqueueControl(YamuxHeader header, bool mayWriteInline = false)
        => Enqueue(header, default, 0, int.MaxValue, mayWriteInline) == Queued.Yes; // a closed queue is no error here: the
                                                                                     // reader answering a late frame meets it on every close

    private static MuxerClosedException Closed() => new("The yamux session is closed.");

    /// <summary>What <see cref="Enqueue"/> did: queued the frames, found the queue full (data waits for room), or closed.</summary>
    private enum Queued { Yes, Full, Closed }

    /// <summary>Waits until the queue drained below the control slack (see the type's remarks).</summary>
    public async ValueTask WaitForControlRoomAsync(CancellationToken cancellationToken)
    {
        while (ControlBackedUp)
        {
            Task space = GetSpaceTask();
            if (!ControlBackedUp)
                return;
            await space.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private Queued Enqueue(YamuxHeader header, ReadOnlySpan<byte> payload, int maxFrame, int limit, bool mayWriteInline)
    {
        int frames = payload.IsEmpty ? 1 : (payload.Length + maxFrame - 1) / maxFrame;
        int size = frames * YamuxHeader.Size + payload.Length;
        bool wake = false;
        byte[]? batch = null;
        int count = 0;
        TaskCompletionSource? space = null;
        lock (_lock)
        {
            if (_closed)
                return Queued.Closed;
            if (_length > 0 && _length + size > limit)
                return Queued.Full;
            if (_buffer.Length - _length < size)
                Grow(size);
            Span<byte> destination = _buffer.AsSpan(_length, size);
            if (payload.IsEmpty)
            {
                header.Write(destination);
            }
            else
            {
                for (ReadOnlySpan<byte> left = payload; !left.IsEmpty;)
                {
                    int n = Math.Min(left.Length, maxFrame);
                    (header with { Length = (uint)n }).Write(destination);
                    left[..n].CopyTo(destination[YamuxHeader.Size..]);
                    destination = destination[(YamuxHeader.Size + n)..];
                    left = left[n..];
                }
            }
            _length += size;
            if (_length > PeakQueuedBytes)
                PeakQueuedBytes = _length;
            if (!_busy)
            {
                _busy = true;
                // Inline: a conversation (the peer spoke since), or a write large enough that sealing and sending it on
                // this thread beats handing it to a drain (a transfer: no thread-pool hop per batch, and the bytes are
                // still in this core's cache). Small one-way writes go to the drain, which batches them.
                if (mayWriteInline && (_peerSpoke || payload.Length >= InlineWriteBytes))
                {
                    _peerSpoke = false;
                    batch = TakeBatch(out count);
                    space = TakeSpace();
                    InlineWrites++;
                }
                else
                {
                    wake = true;
                }
            }
        }
        if (wake)
            StartDrain();
        else if (batch is not null)
            WriteInline(batch, count, space);
        return Queued.Yes;
    }

    /// <summary>The caller holds the role: writes its batch; whatever it cannot finish goes to the loop.</summary>
    private void WriteInline(byte[] batch, int count, TaskCompletionSource? space)
    {
        space?.TrySetResult();
        ValueTask write;
        try
        {
            write = _connection.WriteAsync(batch.AsMemory(0, count), _lifetime);
        }
        catch (Exception e)
        {
            write = ValueTask.FromException(e);
        }
        if (!write.IsCompletedSuccessfully)
        {
            HandOff(write, batch, flushAfter: true);
            return;
        }
        write.GetAwaiter().GetResult(); // consumes a pooled IValueTaskSource, if any

        // Flush only once the queue ran dry (a TLS or Noise stream may hold a partial record); a backlog that
        // built up meanwhile goes to the loop, which flushes after it.
        bool flush;
        lock (_lock)
        {
            flush = _length == 0 && !_closed;
            if (!flush)
            {
                ReturnBatch(batch);
                _flushPending = true;
            }
        }
        if (!flush)
        {
            StartDrain();
            return;
        }
        Task flushed;
        try
        {
            flushed = _connection.FlushAsync(_lifetime);
        }
        catch (Exception e)
        {
            flushed = Task.FromException(e);
        }
        if (!flushed.IsCompletedSuccessfully)
        {
            HandOff(new ValueTask(flushed), batch, flushAfter: false);
            return;
        }
        bool handToLoop;
        lock (_lock)
        {
            ReturnBatch(batch);
            handToLoop = _length > 0 || _closed;
            if (!handToLoop)
                GoIdle();
        }
        if (handToLoop)
            StartDrain();
    }

    /// <summary>The loop takes over the role and first awaits <paramref name="pending"/> (a write or flush, or its failure).</summary>
    private void HandOff(ValueTask pending, byte[]? batch, bool flushAfter)
    {
        lock (_lock)
        {
            if (_loopEnded)
            {
                // The session is over (the loop was stopped while this caller wrote): observe it here instead.
                _ = ObserveAsync(pending, batch);
                return;
            }
            _handoff = pending;
            _handoffBatch = batch;
            _hasHandoff = true;
            _flushPending = flushAfter;
        }
        StartDrain();
    }

    private async Task ObserveAsync(ValueTask pending, byte[]? batch)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The session has already ended; this write's fate changes nothing.
        }
        lock (_lock)
            ReturnBatch(batch);
    }

    /// <summary>Gives the role back with nothing queued, and the buffers to the pool: an idle session holds
    /// none (they come back on the next frame; the pool's per-thread cache makes that cheap).</summary>
    private void GoIdle()
    {
        _busy = false;
        ReturnBuffers();
    }

    /// <summary>Both buffers back to the pool (under _lock).</summary>
    private void ReturnBuffers()
    {
        if (_buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(_buffer);
        if (_spare.Length > 0)
            ArrayPool<byte>.Shared.Return(_spare);
        _buffer = [];
        _spare = [];
    }

    private byte[] TakeBatch(out int count)
    {
        byte[] batch = _buffer;
        count = _length;
        _buffer = _spare;
        _spare = [];
        _length = 0;
        return batch;
    }

    /// <summary>A written batch's buffer becomes the spare again (or goes to the pool once released); null: a frame
    /// that was never the queue's (the last one, written by <see cref="WriteLast"/>).</summary>
    private void ReturnBatch(byte[]? batch)
    {
        if (batch is null)
            return;
        if (_released)
            ArrayPool<byte>.Shared.Return(batch);
        else if (_buffer.Length == 0 && _length == 0)
            _buffer = batch;
        else if (_spare.Length == 0)
            _spare = batch;
        else
            ArrayPool<byte>.Shared.Return(batch);
    }

    private TaskCompletionSource? TakeSpace()
    {
        TaskCompletionSource? space = _space;
        _space = null;
        return space;
    }

    private void Grow(int size)
    {
        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(Math.Max(_buffer.Length * 2, BufferSize), _length + size));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        if (_buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }

    private Task GetSpaceTask()
    {
        lock (_lock)
        {
            if (_closed)
                return Task.CompletedTask; // the retry then throws MuxerClosedException
            return (_space ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    /// <summary>
    /// Stops the queue: optionally drops what is queued (the streams were reset, their data is moot), queues
    /// one last frame (GoAway) and lets the loop write what remains and finish.
    /// </summary>
    /// <remarks>
    /// A session that closes idle (the role free, nothing queued: how every pooled connection ends) needs no drain: the
    /// last frame is written on the caller's thread, and with nothing to write the writer ends at once. Either way
    /// <see cref="Completion"/> is then already complete, so closing costs no thread-pool hop for the writer. The write
    /// never blocks the caller: one the connection cannot finish at once goes to a drain, as any inline write does.
    /// </remarks>
    public void Close(YamuxHeader? last, bool discardQueued)
    {
        TaskCompletionSource? space, ended = null;
        bool wake = false, writeLast = false;
        lock (_lock)
        {
            if (_closed)
                return;
            if (discardQueued)
                _length = 0;
            _closed = true;
            space = TakeSpace();
            if (!_busy && _length == 0 && !_flushPending)
            {
                if (last is null)
                {
                    _loopEnded = true; // nothing left to write, and nobody holds the role to write it
                    ended = _ended;
                }
                else
                {
                    _busy = true;
                    writeLast = true;
                }
            }
            else
            {
                if (last is { } header)
                {
                    if (_buffer.Length - _length < YamuxHeader.Size)
                        Grow(YamuxHeader.Size);
                    header.Write(_buffer.AsSpan(_length, YamuxHeader.Size));
                    _length += YamuxHeader.Size;
                }
                // A holder of the role sees _closed when it finishes and leaves the rest to the loop.
                wake = !_busy;
                _busy = true;
            }
        }
        space?.TrySetResult();
        ended?.TrySetResult();
        if (wake)
            StartDrain();
        else if (writeLast)
            WriteLast(last!.Value);
    }

    // GoAway(normal), the last frame of nearly every close: the same 12 bytes every time, never written to.
    private static readonly byte[] s_goAwayNormal = FrameBytes(new YamuxHeader(YamuxFrameType.GoAway, YamuxFlags.None, 0, (uint)YamuxGoAwayCode.Normal));

    private static byte[] FrameBytes(YamuxHeader header)
    {
        var bytes = new byte[YamuxHeader.Size];
        header.Write(bytes);
        return bytes;
    }

    /// <summary>The closing writer holds the role with nothing queued: writes the last frame inline and ends, or hands
    /// a write or flush it cannot finish at once to a drain (which then ends the writer).</summary>
    private void WriteLast(YamuxHeader last)
    {
        byte[] frame = last is { Type: YamuxFrameType.GoAway, Flags: YamuxFlags.None, StreamId: 0, Length: (uint)YamuxGoAwayCode.Normal }
            ? s_goAwayNormal
            : FrameBytes(last);
        ValueTask pending;
        try
        {
            pending = _connection.WriteAsync(frame, _lifetime);
            if (pending.IsCompletedSuccessfully)
            {
                pending.GetAwaiter().GetResult(); // consumes a pooled IValueTaskSource, if any
                InlineWrites++;
                Task flushed = _connection.FlushAsync(_lifetime);
                pending = flushed.IsCompletedSuccessfully ? default : new ValueTask(flushed);
            }
        }
        catch (Exception e)
        {
            pending = ValueTask.FromException(e);
        }
        if (!pending.IsCompletedSuccessfully)
        {
            HandOff(pending, batch: null, flushAfter: false);
            return;
        }
        TaskCompletionSource? ended;
        lock (_lock)
        {
            _loopEnded = true;
            ended = _ended;
        }
        ended?.TrySetResult();
    }

    /// <summary>Starts a drain on the thread pool; only by whoever has just taken (or holds and hands over) the role.</summary>
    private void StartDrain() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    void IThreadPoolWorkItem.Execute() => _ = DrainOnceAsync();

    /// <summary>One drain: owns the role until it gives it back with nothing queued, or ends the writer once the queue is
    /// closed and written, or a write fails or is cancelled.</summary>
    private async Task DrainOnceAsync()
    {
        try
        {
            if (!await DrainAsync().ConfigureAwait(false))
                return; // idle again: the next frame starts the next drain
        }
        catch (Exception e)
        {
            await EndAsync().ConfigureAwait(false);
            if (!(e is OperationCanceledException && _lifetime.IsCancellationRequested))
                _onFailed(_onFailedState, e); // the connection failed (or was disposed under us); nothing more can be written
            return;
        }
        await EndAsync().ConfigureAwait(false);
    }

    /// <summary>The writer's end: nothing more is queued or written; a hand-off still in flight is awaited for its buffer.</summary>
    private async Task EndAsync()
    {
        TaskCompletionSource? space, ended;
        bool hasHandoff;
        ValueTask handoff;
        byte[]? handoffBatch;
        lock (_lock)
        {
            _closed = true;
            _loopEnded = true;
            _length = 0;
            space = TakeSpace();
            ended = _ended;
            hasHandoff = _hasHandoff;
            handoff = _handoff;
            handoffBatch = _handoffBatch;
            _hasHandoff = false;
            _handoff = default;
            _handoffBatch = null;
        }
        space?.TrySetResult();
        if (hasHandoff)
        {
            // Its buffer may go back only once the connection is done with it.
            try
            {
                await handoff.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The writer is ending anyway (it was stopped or failed); this write's fate changes nothing.
            }
            lock (_lock)
                ReturnBatch(handoffBatch!);
        }
        ended?.TrySetResult();
    }

    /// <summary>Writes until the queue is dry and flushed; true once the queue is closed and all is written.</summary>
    private async ValueTask<bool> DrainAsync()
    {
        while (true)
        {
            byte[]? batch = null;
            int count = 0;
            bool hasHandoff, flush = false;
            ValueTask handoff;
            TaskCompletionSource? space = null;
            lock (_lock)
            {
                hasHandoff = _hasHandoff;
                handoff = _handoff;
                if (hasHandoff)
                {
                    batch = _handoffBatch;
                    _hasHandoff = false;
                    _handoff = default;
                    _handoffBatch = null;
                }
                else if (_length > 0)
                {
                    batch = TakeBatch(out count);
                    space = TakeSpace();
                    LoopWrites++;
                }
                else if (_flushPending)
                {
                    _flushPending = false;
                    flush = true;
                }
                else if (_closed)
                {
                    return true;
                }
                else
                {
                    GoIdle();
                    return false;
                }
            }
            if (hasHandoff)
            {
                try
                {
                    await handoff.ConfigureAwait(false);
                }
                finally
                {
                    lock (_lock)
                        ReturnBatch(batch);
                }
            }
            else if (batch is not null)
            {
                space?.TrySetResult();
                try
                {
                    await _connection.WriteAsync(batch.AsMemory(0, count), _lifetime).ConfigureAwait(false);
                }
                finally
                {
                    lock (_lock)
                    {
                        ReturnBatch(batch);
                        _flushPending = true;
                    }
                }
            }
            else if (flush)
            {
                await _connection.FlushAsync(_lifetime).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Returns the buffers to the pool; only after the loop has ended (a batch still being written
    /// inline goes back when its write is done).</summary>
    public void ReleaseBuffers()
    {
        lock (_lock)
        {
            _released = true;
            ReturnBuffers();
        }
    }
}
