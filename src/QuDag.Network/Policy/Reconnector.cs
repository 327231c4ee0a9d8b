using Polly;
using Polly.Retry;

namespace QuDag.Network;

/// <summary>
/// One peer's reconnect setting and loop; kept on the peer's entry, driven by the <see cref="Reconnector"/> through the
/// methods below.
/// </summary>
internal sealed class ReconnectState
{
    private int _setting = -1; // -1 follows the manager's option, 0 off, 1 on
    private CancellationTokenSource? _stop; // cancels the running loop; null when none runs
    private Task _loop = Task.CompletedTask;
    private int _failures;
    private long _delayTicks;

    /// <summary>-1 follows the manager's option, 0 off, 1 on.</summary>
    public int Setting => Volatile.Read(ref _setting);

    /// <summary>The running (or last) loop.</summary>
    public Task Loop => Volatile.Read(ref _loop);

    /// <summary>Failed attempts of the current (or last) loop.</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>The last backoff the loop waited, or null before the first.</summary>
    public TimeSpan? Delay => Volatile.Read(ref _delayTicks) is > 0 and var ticks ? TimeSpan.FromTicks(ticks) : null;

    public bool Running => Volatile.Read(ref _stop) is not null;

    /// <summary>The peer got a setting of its own.</summary>
    public void Set(bool enabled) => Volatile.Write(ref _setting, enabled ? 1 : 0);

    /// <summary>A loop stopped by <paramref name="stop"/> is about to start; false when one runs already.</summary>
    public bool TryBegin(CancellationTokenSource stop)
    {
        if (Interlocked.CompareExchange(ref _stop, stop, null) is not null)
            return false;
        Volatile.Write(ref _failures, 0);
        return true;
    }

    /// <summary>The loop that <see cref="TryBegin"/> admitted runs as <paramref name="loop"/>.</summary>
    public void Began(Task loop) => Volatile.Write(ref _loop, loop);

    /// <summary>An attempt failed; the loop waits <paramref name="delay"/> before the next.</summary>
    public void Retrying(TimeSpan delay, int failures)
    {
        Volatile.Write(ref _delayTicks, delay.Ticks);
        Volatile.Write(ref _failures, failures);
    }

    /// <summary>Takes the running loop's stop (to cancel it); null when none runs.</summary>
    public CancellationTokenSource? TakeStop() => Interlocked.Exchange(ref _stop, null);

    /// <summary>The loop stopped by <paramref name="stop"/> ended.</summary>
    public void Ended(CancellationTokenSource stop) => Interlocked.CompareExchange(ref _stop, null, stop);
}

/// <summary>What the reconnector needs from the dialer: one connect, and whether the peer is connected and reachable.</summary>
internal interface IRedialer
{
    /// <summary>Connects as ConnectAsync does (pooled connection or a new dial).</summary>
    Task ConnectAsync(PeerId peerId, CancellationToken cancellationToken);

    /// <summary>True while the peer has an open active connection.</summary>
    bool IsConnected(PeerId peerId);

    /// <summary>True when there is an address to redial the peer at.</summary>
    bool CanRedial(PeerId peerId);
}

/// <summary>
/// The per-peer reconnect loops: a peer whose connection was lost is redialed with Polly's exponential backoff and
/// decorrelated jitter, capped at <see cref="ConnectionManagerOptions.ReconnectMaxDelay"/>. A loop ends on success, on
/// a failure retrying cannot mend (no address, denied), when stopped (a disconnect on purpose), or on disposal, which
/// waits for every loop.
/// </summary>
internal sealed class Reconnector : IAsyncDisposable
{
    private readonly Func<ConnectionManagerOptions> _settings; // read when a loop starts: a change applies to the next loop
    private readonly IRedialer _redialer;
    private readonly Action _onAttempt;
    private readonly Action _onReconnected;
    private readonly CancellationTokenSource _disposing = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _busy = 1; // loops running, plus one for the reconnector itself until it is disposed
    private int _disposed;

    /// <summary><paramref name="onAttempt"/> is called before each dial of a loop; <paramref name="onReconnected"/> when a loop succeeds.</summary>
    public Reconnector(Func<ConnectionManagerOptions> settings, IRedialer redialer, Action onAttempt, Action onReconnected)
    {
        _settings = settings;
        _redialer = redialer;
        _onAttempt = onAttempt;
        _onReconnected = onReconnected;
    }

    public bool IsEnabled(ReconnectState state) => state.Setting switch
    {
        -1 => _settings().AutoReconnect,
        var on => on == 1,
    };

    /// <summary>True when the peer has a setting of its own (<see cref="SetEnabled"/>), not the manager's.</summary>
    public static bool HasOwnSetting(ReconnectState state) => state.Setting != -1;

    /// <summary>Overrides the manager's option for one peer; turning it off stops a running loop.</summary>
    public void SetEnabled(ReconnectState state, bool enabled)
    {
        state.Set(enabled);
        if (!enabled)
            Stop(state);
    }

    /// <summary>Starts the peer's loop unless one runs already, reconnect is off for it, or it has no address.</summary>
    public void Start(PeerId peerId, ReconnectState state)
    {
        if (Volatile.Read(ref _disposed) != 0 || !IsEnabled(state) || !_redialer.CanRedial(peerId))
            return;
        var stop = new CancellationTokenSource();
        if (!state.TryBegin(stop))
        {
            stop.Dispose();
            return;
        }
        state.Began(RunAsync(peerId, state, stop));
    }

    public static void Stop(ReconnectState state)
    {
        if (state.TakeStop() is not { } stop)
            return;
        try
        {
            stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The loop ended on its own meanwhile.
        }
    }

    private async Task RunAsync(PeerId peerId, ReconnectState state, CancellationTokenSource stop)
    {
        bool succeeded = false, stopped = false;
        if (!TryEnter())
        {
            state.Ended(stop);
            stop.Dispose();
            return;
        }
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, _disposing.Token);
            var options = _settings();
            var retry = new ResiliencePipelineBuilder { TimeProvider = options.TimeProvider }
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder()
                        .Handle<PeerConnectException>(ex => ex is not PeerDeniedException)
                        .Handle<ConnectionLimitReachedException>(),
                    MaxRetryAttempts = int.MaxValue,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = options.ReconnectJitter,
                    Delay = options.ReconnectDelay,
                    MaxDelay = options.ReconnectMaxDelay,
                    OnRetry = args =>
                    {
                        state.Retrying(args.RetryDelay, args.AttemptNumber + 1);
                        return default;
                    },
                })
                .Build();
            await retry.ExecuteAsync(static async (s, ct) =>
            {
                s.Self._onAttempt();
                await s.Self._redialer.ConnectAsync(s.PeerId, ct).ConfigureAwait(false);
                // A connection that died between its handshake and here is not a reconnect: try again.
                if (!s.Self._redialer.IsConnected(s.PeerId))
                    throw new PeerConnectException($"The connection to {s.PeerId} was lost right after it was made.", s.PeerId,
                        null, ConnectFailureKind.Closed);
            }, (Self: this, PeerId: peerId), linked.Token).ConfigureAwait(false);
            _onReconnected();
            succeeded = true;
        }
        catch (Exception)
        {
            // Stopped (disconnect, disposal, turned off) or a failure retrying cannot mend: the status says which.
        }
        finally
        {
            stopped = stop.IsCancellationRequested;
            state.Ended(stop);
            stop.Dispose();
            Exit();
        }
        // Lost again before the marker above was cleared: that close saw a loop running and started none.
        if (succeeded && !stopped && !_redialer.IsConnected(peerId))
            Start(peerId, state);
    }

    private bool TryEnter()
    {
        while (true)
        {
            var busy = Volatile.Read(ref _busy);
            if (busy == 0 || Volatile.Read(ref _disposed) != 0)
                return false;
            if (Interlocked.CompareExchange(ref _busy, busy + 1, busy) == busy)
                return true;
        }
    }

    private void Exit()
    {
        if (Interlocked.Decrement(ref _busy) == 0)
            _drained.TrySetResult();
    }

    /// <summary>Stops every loop and waits for them to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _disposing.Cancel();
        Exit();
        await _drained.Task.ConfigureAwait(false);
        _disposing.Dispose();
    }
}
