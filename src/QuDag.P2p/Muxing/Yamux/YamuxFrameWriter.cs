using System.Buffers;

namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// The session's one outbound queue and the loop that drains it. Every stream copies its frames into one
/// buffer under a short lock; the loop swaps that buffer for a spare and hands all of it to the connection in
/// one WriteAsync, so many frames from many streams become one socket write or one batch of Noise messages.
/// A write returns once its frame is queued. Data waits while more than <c>limit</c> bytes are queued (the
/// backpressure); control frames (window updates, ACKs, RSTs, ping answers, GoAway) never wait, so a reader
/// can always grant credit, but the session's reader loop stops reading while control frames alone pile up
/// past the slack (a peer that floods pings without reading the answers stalls itself, not our memory).
/// </summary>
internal sealed class YamuxFrameWriter
{
    private const int ControlSlack = 64 * 1024;

    private readonly Lock _lock = new();
    private readonly int _limit;
    private readonly AsyncSignal _wake = new();
    private byte[] _buffer;
    private byte[] _spare;
    private int _length;
    private bool _writerIdle;
    private bool _closed;
    private TaskCompletionSource? _space;

    public YamuxFrameWriter(int limit)
    {
        _limit = limit;
        _buffer = ArrayPool<byte>.Shared.Rent(4096);
        _spare = ArrayPool<byte>.Shared.Rent(4096);
    }

    /// <summary>The most bytes ever queued at once (what the bound is tested against).</summary>
    public int PeakQueuedBytes { get; private set; }

    /// <summary>The bound a queue never exceeds by more than one frame: data limit plus the control slack.</summary>
    public int HardLimit => _limit + ControlSlack;

    /// <summary>True while queued control frames exceed the slack: the reader loop should wait for room.</summary>
    public bool ControlBackedUp => Volatile.Read(ref _length) > _limit + ControlSlack;

    /// <summary>Queues a Data frame, waiting (cancellably) while the queue is full.</summary>
    public ValueTask EnqueueDataAsync(YamuxHeader header, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        return TryEnqueue(header, payload.Span, _limit) ? default : EnqueueDataSlowAsync(header, payload, cancellationToken);
    }

    private async ValueTask EnqueueDataSlowAsync(YamuxHeader header, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task space = GetSpaceTask();
            if (TryEnqueue(header, payload.Span, _limit))
                return;
            await space.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Queues a control frame without waiting; false once the session is closed.</summary>
    public bool TryEnqueueControl(YamuxHeader header)
    {
        try
        {
            return TryEnqueue(header, default, int.MaxValue);
        }
        catch (MuxerClosedException)
        {
            return false;
        }
    }

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

    private bool TryEnqueue(YamuxHeader header, ReadOnlySpan<byte> payload, int limit)
    {
        int size = YamuxHeader.Size + payload.Length;
        bool wake;
        lock (_lock)
        {
            if (_closed)
                throw new MuxerClosedException("The yamux session is closed.");
            if (_length > 0 && _length + size > limit)
                return false;
            if (_buffer.Length - _length < size)
                Grow(size);
            Span<byte> destination = _buffer.AsSpan(_length, size);
            header.Write(destination);
            payload.CopyTo(destination[YamuxHeader.Size..]);
            _length += size;
            if (_length > PeakQueuedBytes)
                PeakQueuedBytes = _length;
            wake = _writerIdle;
            _writerIdle = false;
        }
        if (wake)
            _wake.Set();
        return true;
    }

    private void Grow(int size)
    {
        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + size));
        _buffer.AsSpan(0, _length).CopyTo(larger);
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
    public void Close(YamuxHeader? last, bool discardQueued)
    {
        TaskCompletionSource? space;
        lock (_lock)
        {
            if (_closed)
                return;
            if (discardQueued)
                _length = 0;
            if (last is { } header)
            {
                if (_buffer.Length - _length < YamuxHeader.Size)
                    Grow(YamuxHeader.Size);
                header.Write(_buffer.AsSpan(_length, YamuxHeader.Size));
                _length += YamuxHeader.Size;
            }
            _closed = true;
            _writerIdle = false;
            space = _space;
            _space = null;
        }
        _wake.Set();
        space?.TrySetResult();
    }

    /// <summary>The writer loop: runs until the queue is closed and drained, the token fires or the connection fails.</summary>
    public async Task RunAsync(Stream connection, CancellationToken cancellationToken)
    {
        bool flushPending = false;
        try
        {
            while (true)
            {
                byte[] batch;
                int count;
                TaskCompletionSource? space;
                bool finished = false;
                lock (_lock)
                {
                    count = _length;
                    if (count == 0)
                    {
                        batch = _buffer;
                        space = null;
                        finished = _closed;
                        _writerIdle = !_closed && !flushPending;
                    }
                    else
                    {
                        batch = _buffer;
                        _buffer = _spare;
                        _spare = batch;
                        _length = 0;
                        space = _space;
                        _space = null;
                    }
                }
                if (count == 0)
                {
                    if (flushPending)
                    {
                        // Flush only once the queue ran dry: a TLS or Noise stream may hold a partial record.
                        flushPending = false;
                        await connection.FlushAsync(cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    if (finished)
                        return;
                    await _wake.WaitAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
                space?.TrySetResult();
                await connection.WriteAsync(batch.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                flushPending = true;
            }
        }
        finally
        {
            TaskCompletionSource? space;
            lock (_lock)
            {
                _closed = true;
                _length = 0;
                space = _space;
                _space = null;
            }
            space?.TrySetResult();
        }
    }

    /// <summary>Returns the buffers to the pool; only after the loop has ended.</summary>
    public void ReleaseBuffers()
    {
        lock (_lock)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            ArrayPool<byte>.Shared.Return(_spare);
            _buffer = [];
            _spare = [];
        }
    }
}
