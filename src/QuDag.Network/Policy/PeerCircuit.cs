using Polly;
using Polly.CircuitBreaker;

namespace QuDag.Network;

/// <summary>
/// One peer's circuit breaker: Polly's, over the dials (never over pooled reuse). Polly counts a failure ratio in a
/// sampling window; QuDAG counts consecutive failures. With a ratio of 1.0 and the threshold as the minimum
/// throughput, the two agree once every outcome that is not a failure restarts the count (Polly's manual
/// close resets its health metrics): a success between failures would otherwise keep the ratio under 1.0 all day.
/// </summary>
internal sealed class PeerCircuit
{
    private readonly ResiliencePipeline _pipeline;
    private readonly CircuitBreakerStateProvider _state = new();
    private readonly CircuitBreakerManualControl _control = new();
    private readonly TimeProvider _time;
    private int _failuresInARow;
    private long _openUntilTicks;

    public PeerCircuit(ConnectionManagerOptions options, Action<CircuitState> changed)
    {
        _time = options.TimeProvider;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 1.0,
                MinimumThroughput = options.CircuitBreakerFailureThreshold,
                SamplingDuration = TimeSpan.FromDays(1), // Polly's maximum: failures count however far apart backoff spaces them
                BreakDuration = options.CircuitBreakerBreakDuration,
                // A trial that is cancelled proves nothing: it re-opens the circuit instead of closing it. A cancelled
                // dial in the closed state is neither a failure nor a success.
                ShouldHandle = new PredicateBuilder()
                    .Handle<PeerConnectException>()
                    .Handle<OperationCanceledException>(_ => _state.CircuitState == Polly.CircuitBreaker.CircuitState.HalfOpen),
                StateProvider = _state,
                ManualControl = _control,
                OnOpened = args =>
                {
                    Volatile.Write(ref _openUntilTicks, (_time.GetUtcNow() + args.BreakDuration).UtcTicks);
                    changed(CircuitState.Open);
                    return default;
                },
                OnHalfOpened = _ =>
                {
                    changed(CircuitState.HalfOpen);
                    return default;
                },
                OnClosed = _ =>
                {
                    changed(CircuitState.Closed);
                    return default;
                },
            })
            .Build();
    }

    /// <summary>
    /// The state as a caller sees it: Polly moves from open to half-open only when the next dial arrives, so an open
    /// circuit whose break has ended already reads as half-open (the next dial is the trial).
    /// </summary>
    public CircuitState State => _state.CircuitState switch
    {
        Polly.CircuitBreaker.CircuitState.Closed => CircuitState.Closed,
        Polly.CircuitBreaker.CircuitState.HalfOpen => CircuitState.HalfOpen,
        _ when _time.GetUtcNow().UtcTicks >= Volatile.Read(ref _openUntilTicks) => CircuitState.HalfOpen,
        _ => CircuitState.Open,
    };

    /// <summary>Dials in a row that failed.</summary>
    public int FailuresInARow => Volatile.Read(ref _failuresInARow);

    /// <summary>When an open circuit lets the next trial through.</summary>
    public DateTimeOffset? OpenUntil => State == CircuitState.Open ? new DateTimeOffset(Volatile.Read(ref _openUntilTicks), TimeSpan.Zero) : null;

    /// <summary>Counts a dial that failed before this breaker existed, as if it had run through it.</summary>
    public async Task RecordFailureAsync(PeerConnectException failure)
    {
        try
        {
            await ExecuteAsync(static (f, _) => Task.FromException<object>(f), failure, CancellationToken.None).ConfigureAwait(false);
        }
        catch (PeerConnectException)
        {
            // The failure it records.
        }
    }

    /// <summary>Runs a dial through the breaker.</summary>
    /// <exception cref="BrokenCircuitException">The circuit is open: the dial did not run.</exception>
    public async Task<T> ExecuteAsync<T, TState>(Func<TState, CancellationToken, Task<T>> dial, TState state, CancellationToken cancellationToken)
    {
        var failed = false; // or cancelled: either way the streak is not reset
        try
        {
            return await _pipeline.ExecuteAsync(
                static async (s, ct) => await s.dial(s.state, ct).ConfigureAwait(false),
                (dial, state), cancellationToken).ConfigureAwait(false);
        }
        catch (PeerConnectException)
        {
            failed = true;
            Interlocked.Increment(ref _failuresInARow);
            throw;
        }
        catch (Exception ex) when (ex is BrokenCircuitException or OperationCanceledException)
        {
            failed = true;
            throw;
        }
        finally
        {
            // Forget every success (and every other outcome that was not a failure or a cancellation), so that Polly's
            // ratio over the window only ever counts a streak of failures. A dial costs milliseconds; the reset a lock.
            if (!failed && _state.CircuitState == Polly.CircuitBreaker.CircuitState.Closed)
            {
                Interlocked.Exchange(ref _failuresInARow, 0);
                await _control.CloseAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
    }
}
