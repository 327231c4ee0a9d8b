namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// Bounds the closing of sessions with one shared timer instead of one timer per close, as Kestrel's heartbeat bounds
/// its connections: a pool expiring 10,000 idle connections at once would otherwise create and cancel 10,000 timers,
/// contending on the runtime's timer queue (it took a third of the remote ends' CPU per close). A close that goes as it
/// should never meets the timer: it registers, finishes and unregisters, a lock and a set operation each way. Coarse: an
/// action runs between its due time and one tick later. The timer runs only while something is registered.
/// </summary>
internal sealed class CloseWatchdog
{
    /// <summary>Real time, not a session's injected clock: this bounds I/O, and a test's frozen clock must not hang a close.</summary>
    public static readonly CloseWatchdog Shared = new(TimeProvider.System, TimeSpan.FromMilliseconds(100));

    private readonly TimeProvider _time;
    private readonly TimeSpan _tick;
    private readonly Lock _lock = new();
    private readonly HashSet<Registration> _registered = [];
    private ITimer? _timer;
    private bool _ticking;

    public CloseWatchdog(TimeProvider time, TimeSpan tick)
    {
        _time = time;
        _tick = tick;
    }

    /// <summary>True while the timer runs (for tests).</summary>
    internal bool Ticking
    {
        get
        {
            lock (_lock)
                return _ticking;
        }
    }

    /// <summary>How many registrations are waiting (for tests).</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
                return _registered.Count;
        }
    }

    /// <summary>
    /// Calls <paramref name="onDue"/> with <paramref name="state"/> once <paramref name="delay"/> has passed, unless the
    /// registration is disposed first. The callback may return a further delay to be called again after it.
    /// </summary>
    public Registration Watch(TimeSpan delay, Func<object, TimeSpan?> onDue, object state)
    {
        var registration = new Registration(this, onDue, state);
        Arm(registration, _time.GetTimestamp(), delay);
        return registration;
    }

    private void Arm(Registration registration, long now, TimeSpan delay)
    {
        registration.Due = now + (long)(delay.Ticks * (double)_time.TimestampFrequency / TimeSpan.TicksPerSecond);
        lock (_lock)
        {
            if (registration.Disposed)
                return;
            _registered.Add(registration);
            if (_ticking)
                return;
            _ticking = true;
            if (_timer is null)
            {
                // No ExecutionContext flows into the shared timer from whichever close happened to start it.
                using (ExecutionContext.SuppressFlow())
                    _timer = _time.CreateTimer(static s => ((CloseWatchdog)s!).OnTick(), this, _tick, _tick);
            }
            else
            {
                _timer.Change(_tick, _tick);
            }
        }
    }

    private void Unregister(Registration registration)
    {
        lock (_lock)
            _registered.Remove(registration);
    }

    private void OnTick()
    {
        long now = _time.GetTimestamp();
        List<Registration>? due = null;
        lock (_lock)
        {
            foreach (Registration registration in _registered)
            {
                if (registration.Due <= now)
                    (due ??= []).Add(registration);
            }
            if (due is not null)
            {
                foreach (Registration registration in due)
                    _registered.Remove(registration);
            }
            if (_registered.Count == 0 && _ticking)
            {
                _ticking = false;
                _timer!.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
        if (due is null)
            return;
        foreach (Registration registration in due)
        {
            TimeSpan? again;
            try
            {
                again = registration.OnDue(registration.State);
            }
            catch (Exception)
            {
                again = null; // a close step's failure is the close's business; the watchdog goes on
            }
            if (again is { } delay)
                Arm(registration, now, delay);
        }
    }

    /// <summary>One watched step; disposing it (when the step finished in time) stops the watch.</summary>
    internal sealed class Registration(CloseWatchdog owner, Func<object, TimeSpan?> onDue, object state) : IDisposable
    {
        public readonly Func<object, TimeSpan?> OnDue = onDue;
        public readonly object State = state;
        public long Due;
        public volatile bool Disposed;

        public void Dispose()
        {
            Disposed = true; // before the removal: a callback re-arming it concurrently then leaves it out
            owner.Unregister(this);
        }
    }
}
