using System.Threading.Tasks.Sources;

namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// A reusable auto-reset event for exactly one waiter at a time, with no allocation per wait: a stream's
/// reader, a stream's writer waiting for window, or the session's writer loop. <see cref="Set"/> is sticky
/// until the next wait consumes it, so a wake-up between "checked state" and "started waiting" is never lost.
/// </summary>
internal sealed class AsyncSignal : IValueTaskSource
{
    private readonly Lock _lock = new();
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _registration;
    private bool _set;
    private bool _waiting;

    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled(cancellationToken);
        lock (_lock)
        {
            if (_set)
            {
                _set = false;
                return default;
            }
            if (_waiting)
                throw new InvalidOperationException("Only one read and one write may be pending on a stream at a time.");
            _core.Reset();
            _waiting = true;
            if (cancellationToken.CanBeCanceled)
            {
                // Registered under the lock (the lock is re-entrant if the token fires at once), so GetResult
                // never sees a half-written registration.
                _registration = cancellationToken.UnsafeRegister(static (state, token) => ((AsyncSignal)state!).OnCanceled(token), this);
                // A token cancelled during the registration ran the callback inline, before _registration named
                // this wait, so the callback ignored it: complete the wait here instead.
                if (cancellationToken.IsCancellationRequested)
                    CompleteCanceled(cancellationToken);
            }
            return new ValueTask(this, _core.Version);
        }
    }

    public void Set()
    {
        lock (_lock)
        {
            if (!_waiting)
            {
                _set = true;
                return;
            }
            _waiting = false;
            _core.SetResult(true);
        }
    }

    /// <summary>
    /// Like <see cref="Set"/>, but a waiting continuation runs on the calling thread before this returns. Only for a
    /// caller holding no lock whose own progress does not wait for that continuation: the session's reader loop
    /// after it has parked on its next read (so a reader that blocks cannot stall it).
    /// </summary>
    public void SetAndRunContinuation()
    {
        lock (_lock)
        {
            if (!_waiting)
            {
                _set = true;
                return;
            }
            _waiting = false;
            // Only this completion runs inline; the next await turns it back (OnCompleted), before anyone else
            // can complete that wait.
            _core.RunContinuationsAsynchronously = false;
        }
        _core.SetResult(true);
    }

    /// <summary>
    /// The cancellation callback. It may run late: its token fired while <see cref="Set"/> was completing the
    /// wait it was registered for (so GetResult's Unregister could not stop it), and a new wait has begun
    /// since. It cancels only a wait registered on its own token (the registration names the token, so this
    /// costs no field); a new wait on that already-cancelled token never registers, it returns cancelled.
    /// </summary>
    internal void OnCanceled(CancellationToken token)
    {
        lock (_lock)
        {
            if (_registration.Token != token)
                return;
            CompleteCanceled(token);
        }
    }

    private void CompleteCanceled(CancellationToken token)
    {
        if (!_waiting)
            return;
        _waiting = false;
        _core.SetException(new OperationCanceledException(token));
    }

    void IValueTaskSource.GetResult(short token)
    {
        CancellationTokenRegistration registration;
        lock (_lock)
        {
            registration = _registration;
            _registration = default;
        }
        // Unregister, not Dispose: Dispose would wait for a callback running on this very path.
        registration.Unregister();
        _core.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        _core.RunContinuationsAsynchronously = true; // after a SetAndRunContinuation: every other completion dispatches
        _core.OnCompleted(continuation, state, token, flags);
    }
}
