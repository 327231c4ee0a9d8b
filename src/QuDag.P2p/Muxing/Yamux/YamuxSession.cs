using System.Collections.Concurrent;
using System.Net.Sockets;
using QuDag.P2p.Resources;

namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// A yamux session over one duplex stream (in production a Noise or TLS channel). One reader loop parses
/// frames and feeds the streams; one outbound queue (<see cref="YamuxFrameWriter"/>) orders every frame and
/// batches them, written by a caller inline when the connection is free or by its writer loop. The dialer's stream ids are odd, the listener's even. A protocol breach sends GoAway(protocol
/// error) and ends the session with <see cref="P2pProtocolException"/>; the connection ending (EOF, I/O
/// error) ends it too; either way every stream is reset and the connection is disposed.
/// </summary>
public sealed class YamuxSession : IMuxedSession
{
    private readonly Stream _connection;
    private readonly YamuxOptions _options;
    private readonly bool _isInitiator;
    private readonly YamuxStreamTable _streams = new();
    private readonly YamuxAcceptQueue _accepted = new();
    private ConcurrentDictionary<uint, (TaskCompletionSource<TimeSpan> Answer, long Sent)>? _pings; // on the first ping: most sessions never send one
    private int _unacknowledged;                                     // our streams the remote has not ACKed yet
    private TaskCompletionSource? _acknowledged;                     // under _openLock: for an opener past the limit; made then
    private readonly CancellationTokenSource _stop = new();         // stops both loops
    private volatile bool _noNewStreams;                             // GoAway either way, or the end
    private CancellationTokenSource? _noNewStreamsSignal;           // for an opener waiting on the pending limit; made then
    private object? _end; // null: running, nobody asked; a TaskCompletionSource: running, asked; a Task: ended (see Completion)
    // Opening, accepting and closing: rare next to frames, so the stream table's own monitor serves (a Lock object cost
    // every session 40 B). The table takes it for its short lookups and never calls out under it.
    private readonly object _openLock;
    private readonly Task _readLoop;

    private long _nextStreamId;
    private int _streamCount;
    private int _backlog;
    private int _pingId;
    private int _terminated;
    private volatile bool _localGoAway;
    private volatile bool _remoteGoAway;
    private long _remoteGoAwayCode = -1;
    private Exception? _error;
    private TaskCompletionSource? _drained;
    private ITimer? _closeSweep;         // under _openLock: armed while disposed streams wait for the remote's FIN
    private bool _closeSweepRequested;   // under _openLock: a stream began waiting since the sweep last started
    private Socket? _transport;
    private bool _transportEnded;        // the close shut the socket down: the reader's pending read ends by itself
    private bool _overdueOnce;           // the watchdog's first call gave a reader on a shut-down socket more time
    private int _connectionDisposed;

    private readonly YamuxFrameReader _reader;
    private readonly ConnectionScope? _scope;

    /// <param name="connection">The secured channel the session owns.</param>
    /// <param name="isInitiator">True on the dialer's side (its stream ids are odd).</param>
    /// <param name="options">Limits and tunables.</param>
    /// <param name="scope">The connection's resource scope, given back when the session ends; each stream reserves its
    /// slot and its buffers there while accounting is on (<see cref="ConnectionScope.ForStreams"/>). Null: no accounting.</param>
    public YamuxSession(Stream connection, bool isInitiator, YamuxOptions? options = null, ConnectionScope? scope = null)
    {
        _scope = scope;
        _openLock = _streams;
        ArgumentNullException.ThrowIfNull(connection);
        _options = options ?? YamuxOptions.Default;
        _options.Validate();
        _connection = connection;
        _isInitiator = isInitiator;
        _nextStreamId = isInitiator ? 1 : 2;
        Writer = new YamuxFrameWriter(connection, _options.MaxOutboundBufferBytes, _stop.Token,
            static (session, e) => ((YamuxSession)session).Terminate(e, goAway: null, discardQueued: true), this); // a failed write: nothing more can be written
        _reader = new YamuxFrameReader(connection);
        _readLoop = ReadLoopAsync();
    }

    internal YamuxFrameWriter Writer { get; }

    internal int MaxFrameSize => _options.MaxFrameSize;

    internal TimeProvider TimeProvider => _options.TimeProvider;

    /// <summary>True once the reader and writer loops have both returned (for tests of disposal).</summary>
    internal bool LoopsEnded => _readLoop.IsCompleted && Writer.Ended;

    public bool IsInitiator => _isInitiator;

    /// <remarks>Made when first asked for: a session nobody watches (a host's idle connection, whose end reaches the
    /// host through <see cref="AcceptStreams"/>) keeps no task and source for its life (88 B).</remarks>
    public Task Completion
    {
        get
        {
            object? end = Volatile.Read(ref _end);
            if (end is null)
            {
                // Its continuations run inline: Complete runs last thing in the close, on no lock, and its usual one
                // waiter (the host reporting the connection closed) would otherwise cost a thread-pool hop per close.
                var asked = new TaskCompletionSource();
                end = Interlocked.CompareExchange(ref _end, asked, null) ?? asked;
            }
            return end as Task ?? ((TaskCompletionSource)end).Task;
        }
    }

    /// <summary>The end, once: the source someone already waits on is completed, or else the ended task is kept for later
    /// callers (never both, so a failure is one task to observe, as before).</summary>
    private void Complete(Exception? error)
    {
        object? end = Volatile.Read(ref _end);
        if (end is null)
        {
            Task ended = error is null ? Task.CompletedTask : Task.FromException(error);
            end = Interlocked.CompareExchange(ref _end, ended, null);
            if (end is null)
                return;
        }
        var asked = (TaskCompletionSource)end; // asked meanwhile: Complete runs once (Terminate)
        if (error is null)
            asked.TrySetResult();
        else
            asked.TrySetException(error);
    }

    public bool IsOpen => Volatile.Read(ref _terminated) == 0;

    public int StreamCount => Volatile.Read(ref _streamCount);

    /// <summary>The code of the GoAway the remote sent, if it sent one.</summary>
    public YamuxGoAwayCode? RemoteGoAwayCode => Volatile.Read(ref _remoteGoAwayCode) is var code and >= 0 ? (YamuxGoAwayCode)code : null;

    // ---- opening and accepting ----------------------------------------------------------------------

    public async ValueTask<MuxedStream> OpenStreamAsync(CancellationToken cancellationToken)
    {
        ThrowIfNoNewStreams();
        if (!TryReservePendingOutbound())
            await WaitForAcknowledgementAsync(cancellationToken).ConfigureAwait(false);
        YamuxStream stream;
        StreamScope? streamScope;
        lock (_openLock)
        {
            try
            {
                ThrowIfNoNewStreams();
                if (Volatile.Read(ref _streamCount) >= _options.MaxStreams)
                    throw new P2pException($"The yamux session has {_options.MaxStreams} streams open, its limit.");
                if (_nextStreamId > uint.MaxValue)
                    throw new MuxerClosedException("The yamux session ran out of stream ids.");
                streamScope = _scope?.ForStreams?.OpenStream(inbound: false); // a full peer or system scope refuses here
            }
            catch
            {
                OnOutboundAcknowledged(); // the slot this opener reserved
                throw;
            }
            uint id = (uint)_nextStreamId;
            _nextStreamId += 2;
            stream = new YamuxStream(this, id, _options.InitialWindow, outbound: true, streamScope);
            _streams.Add(stream);
            Interlocked.Increment(ref _streamCount);
            // SYN rides a WindowUpdate that also announces any window beyond the spec's 256 KiB. Queued under
            // the lock so SYNs leave in id order.
            SendControl(new YamuxHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, id, ExtraWindow));
        }
        if (!IsOpen)
        {
            stream.Abort(new StreamResetException("The yamux session ended.", EndError()));
            throw NoNewStreams();
        }
        return stream;
    }

    // The pending-outbound limit is a count, not a SemaphoreSlim: a semaphore and its lock cost every session 88 B, and
    // only an opener that runs 256 streams ahead of the remote's ACKs ever waits.
    private bool TryReservePendingOutbound()
    {
        int max = _options.MaxPendingOutboundStreams;
        for (int n = Volatile.Read(ref _unacknowledged); n < max; n = Volatile.Read(ref _unacknowledged))
        {
            if (Interlocked.CompareExchange(ref _unacknowledged, n + 1, n) == n)
                return true;
        }
        return false;
    }

    /// <summary>The remote has not acknowledged MaxPendingOutboundStreams of ours yet: wait for an ACK (or the session's
    /// end, which fails the open) and reserve.</summary>
    private async ValueTask WaitForAcknowledgementAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, NoNewStreamsSignal());
        try
        {
            while (true)
            {
                Task acknowledged;
                lock (_openLock)
                    acknowledged = (_acknowledged ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                // After the signal exists: an ACK from here on completes it (its decrement comes before its look).
                if (TryReservePendingOutbound())
                    return;
                await acknowledged.WaitAsync(linked.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw NoNewStreams();
        }
    }

    public async ValueTask<MuxedStream> AcceptStreamAsync(CancellationToken cancellationToken)
        => await TryAcceptStreamAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new MuxerClosedException("The yamux session has ended.", EndError());

    /// <inheritdoc/>
    public ValueTask<MuxedStream?> TryAcceptStreamAsync(CancellationToken cancellationToken)
    {
        // The session's end reaches a waiting acceptor as null, not as an exception: that is how every accept loop ends,
        // on every close of every connection.
        ValueTask<MuxedStream?> next = _accepted.TakeAsync(cancellationToken, out YamuxStream? taken);
        if (taken is not null)
            OnAccepted(taken);
        return next;
    }

    /// <inheritdoc/>
    public void AcceptStreams(Action<object, MuxedStream?> onStream, object state)
    {
        ArgumentNullException.ThrowIfNull(onStream);
        ArgumentNullException.ThrowIfNull(state);
        foreach (YamuxStream queued in _accepted.Deliver(onStream, state))
            OnAccepted(queued);
    }

    /// <summary>ACK on accept, as go-yamux does: an opener that caps its unacknowledged streams (256 here, in go and in
    /// rust) then never overruns our backlog of the same size.</summary>
    private void OnAccepted(YamuxStream stream)
    {
        Interlocked.Decrement(ref _backlog);
        SendControl(new YamuxHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Ack, stream.StreamId, ExtraWindow));
    }

    private uint ExtraWindow => (uint)(_options.InitialWindow - YamuxOptions.SpecInitialWindow);

    private void ThrowIfNoNewStreams()
    {
        if (_noNewStreams)
            throw NoNewStreams();
    }

    private void StopNewStreams()
    {
        _noNewStreams = true;
        CancellationTokenSource? signal;
        lock (_openLock)
            signal = _noNewStreamsSignal;
        signal?.Cancel();
    }

    /// <summary>Cancelled once no new streams may be opened; made for the rare opener that has to wait.</summary>
    private CancellationToken NoNewStreamsSignal()
    {
        CancellationTokenSource signal;
        lock (_openLock)
            signal = _noNewStreamsSignal ??= new CancellationTokenSource();
        if (_noNewStreams)
            signal.Cancel();
        return signal.Token;
    }

    private MuxerClosedException NoNewStreams() => _remoteGoAway && IsOpen
        ? new MuxerClosedException($"The remote sent GoAway ({RemoteGoAwayCode}); no new streams.")
        : _localGoAway && IsOpen
            ? new MuxerClosedException("The yamux session is closing; no new streams.")
            : new MuxerClosedException("The yamux session has ended.", EndError());

    private Exception? EndError() => Volatile.Read(ref _error);

    // ---- ping, close, dispose ------------------------------------------------------------------------

    public async ValueTask<TimeSpan> PingAsync(CancellationToken cancellationToken)
    {
        if (!IsOpen)
            throw new MuxerClosedException("The yamux session has ended.", EndError());
        uint value = (uint)Interlocked.Increment(ref _pingId);
        var answer = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pings = Volatile.Read(ref _pings) ?? Interlocked.CompareExchange(ref _pings, new(), null) ?? _pings;
        pings[value] = (answer, _options.TimeProvider.GetTimestamp());
        try
        {
            if (!Writer.TryEnqueueControl(new YamuxHeader(YamuxFrameType.Ping, YamuxFlags.Syn, 0, value)) || !IsOpen)
                throw new MuxerClosedException("The yamux session has ended.", EndError());
            return await answer.Task.WaitAsync(_options.PingTimeout, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The yamux peer did not answer a ping within {_options.PingTimeout}.");
        }
        finally
        {
            pings.TryRemove(value, out _);
        }
    }

    /// <summary>
    /// Sends GoAway(normal), refuses new streams, waits until the open streams have finished (both sides
    /// closed or reset) and then closes the connection. Cancelling ends the wait and disposes the session.
    /// </summary>
    public async ValueTask CloseAsync(CancellationToken cancellationToken)
    {
        if (IsOpen && !_localGoAway)
        {
            _localGoAway = true;
            StopNewStreams();
            SendControl(new YamuxHeader(YamuxFrameType.GoAway, YamuxFlags.None, 0, (uint)YamuxGoAwayCode.Normal));
        }
        try
        {
            await WaitDrainedAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Terminate(null, goAway: null, discardQueued: cancellationToken.IsCancellationRequested);
            await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private Task WaitDrainedAsync()
    {
        lock (_openLock)
        {
            if (Volatile.Read(ref _streamCount) == 0 || !IsOpen)
                return Task.CompletedTask;
            return (_drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    /// <inheritdoc/>
    public async ValueTask ShutdownAsync()
    {
        Terminate(null, IsOpen && !_localGoAway ? YamuxGoAwayCode.Normal : null, discardQueued: false);
        await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Resets every stream, sends GoAway(normal) if the connection still takes it, closes the
    /// connection and returns once both loops have ended.</summary>
    public async ValueTask DisposeAsync()
    {
        Abort();
        await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <inheritdoc/>
    public void Abort() => Terminate(null, IsOpen && !_localGoAway ? YamuxGoAwayCode.Normal : null, discardQueued: true);

    /// <summary>Ends the session once: stops the queue (after one last frame), fails everything pending,
    /// then, in the background, lets the writer flush briefly, stops the loops and disposes the connection.</summary>
    private void Terminate(Exception? error, YamuxGoAwayCode? goAway, bool discardQueued)
    {
        if (Interlocked.Exchange(ref _terminated, 1) != 0)
            return;
        Volatile.Write(ref _error, error);
        Writer.Close(goAway is { } code ? new YamuxHeader(YamuxFrameType.GoAway, YamuxFlags.None, 0, (uint)code) : null, discardQueued);
        StopNewStreams();
        var reset = new StreamResetException(error is null ? "The yamux session was closed." : "The yamux session failed: " + error.Message, error);
        foreach (YamuxStream stream in _streams.Snapshot())
            stream.Abort(reset, sessionEndedCleanly: error is null);
        _accepted.Complete(); // the streams still queued were reset above; nobody may accept them now
        foreach ((TaskCompletionSource<TimeSpan> answer, _) in Volatile.Read(ref _pings)?.Values ?? [])
            answer.TrySetException(new MuxerClosedException("The yamux session ended before the ping's answer.", error));
        _ = ShutdownAsync(error); // completes Completion; never throws
    }

    private async Task ShutdownAsync(Exception? error)
    {
        // One watch bounds the whole close (see OnCloseOverdue); a close that goes as it should never meets its timer.
        var overdue = CloseWatchdog.Shared.Watch(_options.CloseTimeout, static s => ((YamuxSession)s).OnCloseOverdue(), this);
        try
        {
            // The writer sends what Close left queued (at most the GoAway, when discarding) and ends by itself.
            await Writer.Completion.ConfigureAwait(false);
            if (!_readLoop.IsCompleted)
            {
                // End the reader at the transport when we can: its pending read then returns the end of the stream,
                // where a cancellation would throw through every layer below it (socket, security, framing) per close.
                if (Volatile.Read(ref _transport) is { } transport && EndTransport(transport))
                    Volatile.Write(ref _transportEnded, true);
                else
                    _stop.Cancel();
            }
            await _readLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            // Back to the pool before the socket's close: in a bulk close, buffers held across it run the pool dry.
            _reader.Dispose();
            Writer.ReleaseBuffers();
            await DisposeConnectionAsync().ConfigureAwait(false);
        }
        finally
        {
            overdue.Dispose();
            lock (_openLock)
                _drained?.TrySetResult();
            // Before anyone hears of the end: a manager that frees its own slot on Completion then never finds the
            // system scope still holding this connection. Here rather than in a continuation of the connection's, which
            // every idle connection kept waiting (120 B).
            _scope?.Dispose();
            Complete(error);
        }
    }

    /// <summary>
    /// The close took longer than <see cref="YamuxOptions.CloseTimeout"/>: a write stuck on a peer that does not read,
    /// or a reader that did not end. Cancel both loops; a connection that ignores that too is disposed a second later,
    /// which unblocks it.
    /// </summary>
    private TimeSpan? OnCloseOverdue()
    {
        // Shut down at the socket, the reader's pending read returns the end of the stream by itself; when the close is
        // overdue anyway it is waiting for the thread pool (10,000 closes at once on a loaded machine), and cancelling
        // would only add an exception through every layer and a work item. One more period first.
        if (Volatile.Read(ref _transportEnded) && !_overdueOnce)
        {
            _overdueOnce = true;
            return _options.CloseTimeout;
        }
        if (!_stop.IsCancellationRequested)
        {
            _stop.Cancel();
            return TimeSpan.FromSeconds(1);
        }
        DisposeConnectionAsync().AsTask().ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        return null;
    }

    /// <returns>True when the socket was shut down (false: it was already closed under us).</returns>
    private static bool EndTransport(Socket transport)
    {
        try
        {
            transport.Shutdown(SocketShutdown.Both);
            return true;
        }
        catch (Exception)
        {
            // Already closed under us: the reader has ended, or disposing the connection ends it.
            return false;
        }
    }

    /// <summary>Disposes the connection once, whoever asks first (the close, or the watchdog for a stuck one).</summary>
    private async ValueTask DisposeConnectionAsync()
    {
        if (Interlocked.Exchange(ref _connectionDisposed, 1) != 0)
            return;
        try
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The connection is going away regardless; a failing dispose changes nothing for us.
        }
    }

    /// <summary>
    /// The TCP socket under the connection, when there is one (set by the upgrader). Closing shuts it down once the
    /// writer is done, so the reader loop's pending read returns the end of the stream instead of being cancelled;
    /// without it the reader is cancelled.
    /// </summary>
    internal void SetTransport(Socket socket) => Volatile.Write(ref _transport, socket);

    // ---- called by streams --------------------------------------------------------------------------

    internal void SendControl(YamuxHeader header) => Writer.TryEnqueueControl(header);

    internal void SendWindowUpdate(uint id, uint delta) => Writer.TryEnqueueControl(new YamuxHeader(YamuxFrameType.WindowUpdate, YamuxFlags.None, id, delta));

    /// <summary>A window update from a stream's reader (the application's thread, never the reader loop): it may be
    /// written inline, so the remote's writer, stalled for credit, is not also waiting for our loop to wake.</summary>
    internal void SendWindowUpdateFromReader(uint id, uint delta)
        => Writer.TryEnqueueControl(new YamuxHeader(YamuxFrameType.WindowUpdate, YamuxFlags.None, id, delta), mayWriteInline: true);

    internal void OnOutboundAcknowledged()
    {
        Interlocked.Decrement(ref _unacknowledged);
        if (Volatile.Read(ref _acknowledged) is null)
            return;
        TaskCompletionSource? waiting;
        lock (_openLock)
        {
            waiting = _acknowledged;
            _acknowledged = null;
        }
        waiting?.TrySetResult(); // every waiter tries again; those that lose make the next signal
    }

    internal void OnStreamReleased(YamuxStream stream)
    {
        if (!_streams.Remove(stream))
            return;
        if (Interlocked.Decrement(ref _streamCount) == 0)
        {
            TaskCompletionSource? drained;
            lock (_openLock)
            {
                drained = Volatile.Read(ref _streamCount) == 0 ? _drained : null;
                if (drained is not null)
                    _drained = null;
                if (Volatile.Read(ref _streamCount) == 0)
                    StopCloseSweep(); // no stream left to wait for (this is also how the session's end stops it)
            }
            drained?.TrySetResult();
        }
    }

    // ---- the close sweep ----------------------------------------------------------------------------
    // One timer per session, and only while some disposed stream waits for the remote's FIN (go-yamux runs a
    // timer per stream). Every stream waits the same timeout, so a stream that starts waiting never needs the
    // timer earlier than it is already due.

    /// <summary>A stream was disposed before the remote closed: make sure a sweep will expire it.</summary>
    internal void OnStreamAwaitingRemoteClose()
    {
        if (_options.StreamCloseTimeout == Timeout.InfiniteTimeSpan)
            return;
        lock (_openLock)
        {
            if (!IsOpen || Volatile.Read(ref _streamCount) == 0)
                return;
            _closeSweepRequested = true;
            _closeSweep ??= _options.TimeProvider.CreateTimer(
                static state => ((YamuxSession)state!).SweepClosedStreams(), this, _options.StreamCloseTimeout, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Resets the streams whose close timed out and re-arms for the next one due, or stops.</summary>
    private void SweepClosedStreams()
    {
        lock (_openLock)
            _closeSweepRequested = false;
        TimeSpan timeout = _options.StreamCloseTimeout;
        TimeSpan next = Timeout.InfiniteTimeSpan;
        foreach (YamuxStream stream in _streams.Snapshot())
        {
            TimeSpan left = stream.ExpireClose(timeout);
            if (left != Timeout.InfiniteTimeSpan && (next == Timeout.InfiniteTimeSpan || left < next))
                next = left;
        }
        lock (_openLock)
        {
            if (_closeSweep is not { } timer)
                return; // stopped meanwhile: no streams left
            // A stream that began waiting after the scan passed it is due within one full timeout.
            if (_closeSweepRequested && (next == Timeout.InfiniteTimeSpan || next > timeout))
                next = timeout;
            if (next == Timeout.InfiniteTimeSpan || !IsOpen)
                StopCloseSweep();
            else
                timer.Change(next, Timeout.InfiniteTimeSpan);
        }
    }

    private void StopCloseSweep()
    {
        _closeSweep?.Dispose();
        _closeSweep = null;
        _closeSweepRequested = false;
    }

    // ---- the reader loop ----------------------------------------------------------------------------

    private async Task ReadLoopAsync()
    {
        // Off the constructor's thread (and out of any synchronization context) before the first read.
        await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        try
        {
            while (true)
            {
                if (!_reader.TryReadHeader(out YamuxHeader header))
                {
                    // Between frames. An idle connection waits right here, in this loop's own frame, holding no
                    // buffer; the readers of what was just delivered are woken on this thread once it has parked.
                    if (_reader.IsIdle)
                    {
                        // With the stop token, not without: a receive without one leaves in place the registration the
                        // socket's reused receive operation kept from the upgrade's last read (its deadline token, and
                        // with it the upgrade's linked sources: about 600 B per idle connection, measured); this one
                        // replaces it with a registration on the session's own source.
                        ValueTask<int> wait = _reader.WaitAsync(_stop.Token);
                        if (wait.IsCompleted || !_reader.HasReadersToWake)
                            await wait.ConfigureAwait(false);
                        else
                            await _reader.ParkThenWakeReaders(wait);
                    }
                    ValueTask<YamuxHeader?> next = _reader.ReadHeaderAsync(_stop.Token);
                    YamuxHeader? frame = next.IsCompleted || !_reader.HasReadersToWake
                        ? await next.ConfigureAwait(false)
                        : await _reader.ParkThenWakeReaders(next);
                    if (frame is not { } read)
                    {
                        OnConnectionEnded();
                        return;
                    }
                    header = read;
                }
                Writer.OnPeerFrame();
                switch (header.Type)
                {
                    case YamuxFrameType.Data:
                    case YamuxFrameType.WindowUpdate:
                        await OnStreamFrameAsync(header).ConfigureAwait(false);
                        break;
                    case YamuxFrameType.Ping:
                        OnPing(header);
                        break;
                    case YamuxFrameType.GoAway:
                        OnGoAway(header);
                        break;
                }
                if (Writer.ControlBackedUp)
                {
                    _reader.WakeReaders(); // the loop waits here: its readers must not
                    await Writer.WaitForControlRoomAsync(_stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (P2pProtocolException e)
        {
            Terminate(e, YamuxGoAwayCode.ProtocolError, discardQueued: true);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception) when (Volatile.Read(ref _terminated) != 0)
        {
            // The session was ended (and the connection disposed) while a read was pending.
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            Terminate(e, goAway: null, discardQueued: true); // the connection failed
        }
        catch (Exception e)
        {
            // A bug of ours must still end the session (and tell the peer), never leave it half alive.
            Terminate(e, YamuxGoAwayCode.InternalError, discardQueued: true);
        }
    }

    /// <summary>The remote closed the connection: a clean end, unless its GoAway said why it gave up.</summary>
    private void OnConnectionEnded() => Terminate(RemoteGoAwayCode switch
    {
        YamuxGoAwayCode.ProtocolError => new P2pProtocolException("The remote ended the yamux session for a protocol error (GoAway 1)."),
        YamuxGoAwayCode.InternalError => new MuxerClosedException("The remote ended the yamux session for an internal error (GoAway 2)."),
        _ => null,
    }, goAway: null, discardQueued: true);

    private async ValueTask OnStreamFrameAsync(YamuxHeader header)
    {
        uint id = header.StreamId;
        if (id == 0)
            throw new P2pProtocolException($"Yamux {header.Type} frame on stream 0.");
        uint length = header.Type == YamuxFrameType.Data ? header.Length : 0;
        YamuxFlags flags = header.Flags;

        YamuxStream? stream;
        if ((flags & YamuxFlags.Syn) != 0)
        {
            stream = OnSyn(id);
        }
        else if (!_streams.TryGet(id, out stream))
        {
            // Never opened, or already closed and forgotten: never buffered; data that is more than a
            // late FIN or RST is answered with RST.
            if (length > (uint)_options.InitialWindow)
                throw new P2pProtocolException($"Yamux data frame of {length} bytes for unknown stream {id}, past any window.");
            if (length > 0 && (flags & YamuxFlags.Rst) == 0)
                SendControl(new YamuxHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, id, 0));
            await _reader.SkipAsync(length, _stop.Token).ConfigureAwait(false);
            return;
        }

        if (stream is null)
        {
            // A SYN we refused (limits or closing): RST was sent, its payload is dropped.
            if (length > (uint)_options.InitialWindow)
                throw new P2pProtocolException($"Yamux data frame of {length} bytes past the window.");
            await _reader.SkipAsync(length, _stop.Token).ConfigureAwait(false);
            return;
        }

        if ((flags & YamuxFlags.Ack) != 0)
            stream.OnAcknowledged();

        if (header.Type == YamuxFrameType.WindowUpdate)
        {
            if (header.Length > 0)
                stream.AddSendCredit(header.Length);
        }
        else if (length > 0)
        {
            stream.Reserve(length);
            await _reader.DeliverAsync(stream, (int)length, _stop.Token).ConfigureAwait(false);
        }

        if ((flags & YamuxFlags.Rst) != 0)
            stream.Abort(new StreamResetException($"Stream {id} was reset by the remote."));
        else if ((flags & YamuxFlags.Fin) != 0)
            stream.OnRemoteFin();
    }

    /// <summary>An inbound SYN: the new stream, or null if refused with RST.</summary>
    private YamuxStream? OnSyn(uint id)
    {
        bool remoteParity = (id & 1) == (_isInitiator ? 0u : 1u);
        if (!remoteParity)
            throw new P2pProtocolException($"Yamux SYN for stream {id}, which has our parity.");
        if (_streams.Contains(id))
            throw new P2pProtocolException($"Yamux SYN for stream {id}, which is already open.");
        YamuxStream stream;
        lock (_openLock)
        {
            if (_localGoAway || !IsOpen
                || Volatile.Read(ref _streamCount) >= _options.MaxStreams
                || Volatile.Read(ref _backlog) >= _options.AcceptBacklog)
            {
                SendControl(new YamuxHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, id, 0));
                return null;
            }
            StreamScope? streamScope;
            try
            {
                streamScope = _scope?.ForStreams?.OpenStream(inbound: true);
            }
            catch (Exception e) when (e is ResourceLimitExceededException or ObjectDisposedException)
            {
                // The peer's (or the system's) stream limit: refused as yamux refuses a stream past its own limit.
                SendControl(new YamuxHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, id, 0));
                return null;
            }
            stream = new YamuxStream(this, id, _options.InitialWindow, outbound: false, streamScope);
            _streams.Add(stream);
            Interlocked.Increment(ref _streamCount);
            Interlocked.Increment(ref _backlog);
        }
        switch (_accepted.TryAdd(stream))
        {
            case YamuxAcceptQueue.Added.Handed:
                OnAccepted(stream);
                break;
            case YamuxAcceptQueue.Added.Refused:
                stream.Abort(new StreamResetException("The yamux session ended.", EndError()));
                break;
        }
        return stream;
    }

    private void OnPing(YamuxHeader header)
    {
        if ((header.Flags & YamuxFlags.Syn) != 0)
        {
            SendControl(new YamuxHeader(YamuxFrameType.Ping, YamuxFlags.Ack, 0, header.Length));
        }
        else if ((header.Flags & YamuxFlags.Ack) != 0 && Volatile.Read(ref _pings) is { } pings && pings.TryRemove(header.Length, out var pending))
        {
            pending.Answer.TrySetResult(_options.TimeProvider.GetElapsedTime(pending.Sent));
        }
    }

    private void OnGoAway(YamuxHeader header)
    {
        Volatile.Write(ref _remoteGoAwayCode, header.Length);
        _remoteGoAway = true;
        StopNewStreams();
    }
}
