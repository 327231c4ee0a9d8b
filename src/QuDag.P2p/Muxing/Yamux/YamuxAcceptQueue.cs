using System.Threading.Tasks.Sources;

namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// The remote's new streams on their way to the acceptor: handed straight to an acceptor that waits (the host's accept
/// loop waits for the session's whole life), queued otherwise. One acceptor at a time; a wait allocates nothing (the
/// queue is its own reusable <see cref="IValueTaskSource{TResult}"/>), and the queue itself is made only when a stream
/// arrives with nobody waiting, so an idle session holds this object and no more. An owner that serves every stream alike
/// (the host) gives a handler instead (<see cref="Deliver"/>), and then nothing waits at all.
/// </summary>
internal sealed class YamuxAcceptQueue : IValueTaskSource<MuxedStream?>
{
    // Locked on itself: a thin lock in the object header, where a Lock object would cost 40 B per session.
    private ManualResetValueTaskSourceCore<MuxedStream?> _core = new() { RunContinuationsAsynchronously = true };
    private Queue<YamuxStream>? _queue;
    private CancellationTokenRegistration _registration;
    private bool _waiting;
    private bool _completed;
    private Action<object, MuxedStream?>? _handler; // set once by Deliver: every stream goes there instead
    private object? _handlerState;

    /// <summary>What <see cref="TryAdd"/> did with a stream.</summary>
    public enum Added { Queued, Handed, Refused }

    /// <summary>Hands <paramref name="stream"/> to the waiting acceptor, or queues it; refused once the queue is completed.</summary>
    public Added TryAdd(YamuxStream stream)
    {
        lock (this)
        {
            if (_completed)
                return Added.Refused;
            if (_handler is not null)
            {
                Dispatch(stream);
                return Added.Handed;
            }
            if (!_waiting)
            {
                (_queue ??= new Queue<YamuxStream>(1)).Enqueue(stream);
                return Added.Queued;
            }
            _waiting = false;
            _core.SetResult(stream); // its continuation runs on the thread pool, not under this lock
            return Added.Handed;
        }
    }

    /// <summary>The next stream (taken off the queue: the caller acknowledges it), waiting for one; null once completed.</summary>
    /// <param name="cancellationToken">Ends a wait with <see cref="OperationCanceledException"/>.</param>
    /// <param name="taken">Set to the stream when it came off the queue now (not when handed to the wait later).</param>
    public ValueTask<MuxedStream?> TakeAsync(CancellationToken cancellationToken, out YamuxStream? taken)
    {
        taken = null;
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<MuxedStream?>(cancellationToken);
        lock (this)
        {
            if (_queue is { Count: > 0 } queue)
            {
                taken = queue.Dequeue();
                return new ValueTask<MuxedStream?>(taken);
            }
            if (_completed)
                return new ValueTask<MuxedStream?>((MuxedStream?)null);
            if (_waiting)
                throw new InvalidOperationException("Only one accept may wait on a yamux session at a time.");
            _core.Reset();
            _waiting = true;
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static (state, token) => ((YamuxAcceptQueue)state!).OnCanceled(token), this);
                // A token cancelled during the registration ran the callback before _registration named it: fail here.
                if (cancellationToken.IsCancellationRequested)
                    CancelWait(cancellationToken);
            }
            return new ValueTask<MuxedStream?>(this, _core.Version);
        }
    }

    /// <summary>No more streams: a waiting acceptor (or the handler of <see cref="Deliver"/>) gets null, and the queued
    /// ones are dropped (the session resets them).</summary>
    /// <remarks>Either hears the end on this thread, outside the lock: it has only to report the end (a hop to the thread
    /// pool per close cost more than that), and nothing reuses the source after.</remarks>
    public void Complete()
    {
        Action<object, MuxedStream?>? handler;
        object? state;
        bool waiting;
        lock (this)
        {
            if (_completed)
                return;
            _completed = true;
            _queue = null;
            (handler, state) = (_handler, _handlerState);
            waiting = _waiting;
            _waiting = false; // a cancellation from now on finds no wait to fail
        }
        handler?.Invoke(state!, null);
        if (waiting)
        {
            _core.RunContinuationsAsynchronously = false;
            _core.SetResult(null);
        }
    }

    /// <summary>
    /// From now on every stream goes to <paramref name="handler"/> on the thread pool as it arrives, and null once, on
    /// the completing thread, when the queue completes: no acceptor waits, so the session's owner keeps no task waiting for its idle life. The streams
    /// already queued go first; they are returned for the caller to acknowledge, as <see cref="TakeAsync"/> does.
    /// </summary>
    public YamuxStream[] Deliver(Action<object, MuxedStream?> handler, object state)
    {
        YamuxStream[] queued;
        bool ended;
        lock (this)
        {
            if (_handler is not null || _waiting)
                throw new InvalidOperationException("A yamux session's streams go to one acceptor: a handler, or one accept at a time.");
            _handler = handler;
            _handlerState = state;
            queued = _queue?.ToArray() ?? [];
            _queue = null;
            foreach (YamuxStream stream in queued)
                Dispatch(stream);
            ended = _completed;
        }
        // An end that came first is heard on this thread, as Complete's is: the owner learns that the connection is gone
        // before it goes on with it (a dial that hands out a connection closed during its handshake must not).
        if (ended)
            handler(state, null);
        return queued;
    }

    // Off the session's reader loop (and out of this lock): the handler negotiates, serves, may block.
    private void Dispatch(MuxedStream? stream)
        => ThreadPool.UnsafeQueueUserWorkItem(static work => work.Handler(work.State, work.Stream),
            (Handler: _handler!, State: _handlerState!, Stream: stream), preferLocal: false);

    private void OnCanceled(CancellationToken token)
    {
        lock (this)
        {
            // Late callbacks (a stream was handed over meanwhile, or a newer wait began) are ignored, as AsyncSignal does.
            if (_registration.Token == token)
                CancelWait(token);
        }
    }

    private void CancelWait(CancellationToken token)
    {
        if (!_waiting)
            return;
        _waiting = false;
        _core.SetException(new OperationCanceledException(token));
    }

    MuxedStream? IValueTaskSource<MuxedStream?>.GetResult(short token)
    {
        CancellationTokenRegistration registration;
        lock (this)
        {
            registration = _registration;
            _registration = default;
        }
        registration.Unregister(); // not Dispose: that would wait for a callback running on this very path
        return _core.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource<MuxedStream?>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<MuxedStream?>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}
