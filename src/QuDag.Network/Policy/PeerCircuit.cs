namespace QuDag.Network;

/// <summary>
/// One peer's circuit breaker over its dials (never over pooled reuse), counting as QuDAG does: after
/// <see cref="ConnectionManagerOptions.CircuitBreakerFailureThreshold"/> failed dials in a row it opens for the break
/// duration, and connects fail fast; then one trial dial goes through (half-open): a success closes it, a failure opens
/// it for another break. A cancelled dial says nothing of the peer and is not counted, but a cancelled trial re-opens
/// the circuit, since it proved nothing. Both settings are read at each decision, so a change on a running manager
/// applies at the peer's next dial.
/// </summary>
/// <remarks>
/// Not Polly's breaker, which the first versions used: Polly.Core 8 keeps only a failure-ratio breaker, which counts
/// "in a row" only by resetting its window after every success, has no outcome that is neither a success nor a failure
/// (one cancelled connect then kept the ratio under 1.0 and the circuit closed for good), and fixes its settings when
/// it is built. The manager calls this under the peer's gate, one dial at a time; the lock only orders those calls
/// against readers of the state (Get-QuDagPeer, the metrics).
/// </remarks>
internal sealed class PeerCircuit
{
    private readonly Func<(int Threshold, TimeSpan BreakDuration)> _settings;
    private readonly TimeProvider _time;
    private readonly Action<CircuitState> _changed;
    private readonly Lock _lock = new();
    private CircuitState _state = CircuitState.Closed;
    private bool _trial;
    private int _failuresInARow;
    private long _openUntilTicks;

    /// <param name="settings">The threshold and break duration, read at each decision.</param>
    /// <param name="time">The clock of the break.</param>
    /// <param name="changed">Called with each new state (the manager counts open circuits).</param>
    public PeerCircuit(Func<(int Threshold, TimeSpan BreakDuration)> settings, TimeProvider time, Action<CircuitState> changed)
    {
        _settings = settings;
        _time = time;
        _changed = changed;
    }

    /// <summary>The state as a caller sees it: an open circuit whose break has ended reads half-open (the next dial is the trial).</summary>
    public CircuitState State
    {
        get
        {
            lock (_lock)
                return _state == CircuitState.Open && BreakIsOver() ? CircuitState.HalfOpen : _state;
        }
    }

    /// <summary>Dials in a row that failed.</summary>
    public int FailuresInARow => Volatile.Read(ref _failuresInARow);

    /// <summary>When an open circuit lets the next trial through.</summary>
    public DateTimeOffset? OpenUntil
    {
        get
        {
            lock (_lock)
                return _state == CircuitState.Open && !BreakIsOver() ? new DateTimeOffset(_openUntilTicks, TimeSpan.Zero) : null;
        }
    }

    /// <summary>
    /// Asks to dial: false while the circuit is open (fail fast). Once the break is over the dial that asks first is
    /// the trial, and the circuit is half-open until its outcome is recorded.
    /// </summary>
    public bool TryBeginDial()
    {
        lock (_lock)
        {
            if (_state != CircuitState.Open)
            {
                _trial = _state == CircuitState.HalfOpen;
                return true;
            }
            if (!BreakIsOver())
                return false;
            _state = CircuitState.HalfOpen;
            _trial = true;
            _changed(CircuitState.HalfOpen);
            return true;
        }
    }

    /// <summary>The dial failed: counted, and the circuit opens at the threshold or after a failed trial.</summary>
    public void RecordFailure()
    {
        lock (_lock)
        {
            _failuresInARow++;
            var (threshold, breakDuration) = _settings();
            if (_trial || (threshold > 0 && _failuresInARow >= threshold))
                Open(breakDuration);
        }
    }

    /// <summary>The dial succeeded: the count restarts and the circuit closes.</summary>
    public void RecordSuccess()
    {
        lock (_lock)
        {
            _failuresInARow = 0;
            _trial = false;
            if (_state != CircuitState.Closed)
            {
                _state = CircuitState.Closed;
                _changed(CircuitState.Closed);
            }
        }
    }

    /// <summary>The dial was cancelled: not counted; a trial that was cancelled re-opens the circuit for another break.</summary>
    public void RecordCancelled()
    {
        lock (_lock)
        {
            if (_trial)
                Open(_settings().BreakDuration);
        }
    }

    /// <summary>
    /// No dial was made after all (the connection limit, the gater): nothing was learned, so a trial stays to be made
    /// by the next dial.
    /// </summary>
    public void RecordNotDialed()
    {
        lock (_lock)
            _trial = false;
    }

    /// <summary>Closes the circuit without a dial (the breaker was turned off), so the manager stops counting it as open.</summary>
    public void Reset() => RecordSuccess();

    private bool BreakIsOver() => _time.GetUtcNow().UtcTicks >= _openUntilTicks;

    private void Open(TimeSpan breakDuration)
    {
        _trial = false;
        _openUntilTicks = (_time.GetUtcNow() + breakDuration).UtcTicks;
        if (_state != CircuitState.Open)
        {
            _state = CircuitState.Open;
            _changed(CircuitState.Open);
        }
    }
}
