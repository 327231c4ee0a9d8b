namespace QuDag.Network;

/// <summary>A connection the trimmer may close.</summary>
internal interface ITrimTarget
{
    PeerId RemoteId { get; }

    bool Inbound { get; }

    bool IsOpen { get; }

    /// <summary>The clock's timestamp when the connection was established: its grace period counts from here.</summary>
    long EstablishedTimestamp { get; }

    /// <summary>Open streams now; one with none is closed before one in use, all else equal.</summary>
    int StreamCount { get; }

    Task CloseAsync(CloseReason code, string reason, string? scope = null);
}

/// <summary>The watermark settings a trim reads, as they are at that moment (they change live).</summary>
internal readonly record struct TrimSettings(int LowWater, int HighWater, TimeSpan GracePeriod, TimeSpan SilencePeriod)
{
    /// <summary>Both watermarks set: automatic trims run (go's connmgr is off when either is zero).</summary>
    public bool Enabled => LowWater > 0 && HighWater > 0;
}

/// <summary>
/// The connection manager's watermarks, as go-libp2p's connmgr: above <see cref="TrimSettings.HighWater"/> open
/// connections it closes the lowest-value ones until <see cref="TrimSettings.LowWater"/> remain, never one in its grace
/// period and never a protected peer's, at most once per silence period. One timer (every silence period, only while
/// the watermarks are set) and a check when a connection opens above the high watermark. An explicit trim goes down to
/// the low watermark whenever asked. Value = the sum of the peer's tag weights (<see cref="PeerTags"/>); ties go to the
/// connection with fewer streams, then the inbound one, then the oldest.
/// </summary>
internal sealed class ConnectionTrimmer : IAsyncDisposable
{
    private readonly Func<TrimSettings> _settings;
    private readonly TimeProvider _time;
    private readonly Func<IReadOnlyCollection<ITrimTarget>> _connections;
    private readonly SemaphoreSlim _trimming = new(1, 1);
    private readonly Lock _lock = new();
    private ITimer? _timer;
    private TimeSpan _period;
    private long _lastTrim;   // clock timestamp of the last automatic or explicit trim; 0: none yet
    private bool _disposed;

    public ConnectionTrimmer(Func<TrimSettings> settings, TimeProvider time, Func<IReadOnlyCollection<ITrimTarget>> connections)
    {
        _settings = settings;
        _time = time;
        _connections = connections;
        Tags = new PeerTags(time);
        Change();
    }

    /// <summary>The protections and tags the trims honour.</summary>
    public PeerTags Tags { get; }

    /// <summary>Connections the trimmer has closed so far.</summary>
    public long Trimmed => Interlocked.Read(ref _trimmed);

    private long _trimmed;

    /// <summary>When the last trim ran, or null.</summary>
    public DateTimeOffset? LastTrim =>
        Volatile.Read(ref _lastTrim) is not 0 and var at ? _time.GetUtcNow() - _time.GetElapsedTime(at) : null;

    /// <summary>Puts the settings to work: the timer runs every silence period while both watermarks are set.</summary>
    public void Change()
    {
        var s = _settings();
        lock (_lock)
        {
            if (_disposed)
                return;
            if (!s.Enabled)
            {
                _timer?.Dispose();
                _timer = null;
                return;
            }
            var period = s.SilencePeriod;
            if (_timer is null)
                _timer = _time.CreateTimer(static state => ((ConnectionTrimmer)state!).OnTimer(), this, period, period);
            else if (period != _period)
                _timer.Change(period, period);
            _period = period;
        }
    }

    /// <summary>
    /// A connection opened: above the high watermark, trim now unless one ran within the silence period. The new
    /// connection itself is never the one trimmed, whatever the grace period (its dial is still finishing).
    /// </summary>
    public void OnConnectionOpened(ITrimTarget opened, int open)
    {
        var s = _settings();
        if (s.Enabled && open > s.HighWater && SilenceOver(s))
            _ = TrimAsync(automatic: true, spare: opened);
    }

    private void OnTimer()
    {
        var s = _settings();
        if (s.Enabled && _connections().Count > s.HighWater && SilenceOver(s))
            _ = TrimAsync(automatic: true);
    }

    private bool SilenceOver(TrimSettings s) =>
        Volatile.Read(ref _lastTrim) is var last && (last == 0 || _time.GetElapsedTime(last) >= s.SilencePeriod);

    /// <summary>
    /// Closes the lowest-value connections past their grace period, protected peers aside, until the low watermark
    /// remains (or no candidate is left). Returns how many it closed. An automatic trim is skipped while another runs
    /// or within the silence period; an explicit one waits for a running one and ignores the silence period.
    /// </summary>
    public async Task<int> TrimAsync(bool automatic = false, ITrimTarget? spare = null)
    {
        if (automatic)
        {
            if (!_trimming.Wait(0))
                return 0;
        }
        else
        {
            await _trimming.WaitAsync().ConfigureAwait(false);
        }
        try
        {
            var s = _settings();
            if (s.LowWater <= 0 || (automatic && (!s.Enabled || !SilenceOver(s))))
                return 0;
            var open = _connections().Where(c => c.IsOpen).ToList();
            int excess = open.Count - s.LowWater;
            if (excess <= 0)
                return 0;
            var victims = Candidates(open, s).Where(c => !ReferenceEquals(c.Target, spare)).Take(excess).ToList();
            if (victims.Count == 0)
                return 0; // all in their grace period or protected: a later check tries again, silence or not
            Volatile.Write(ref _lastTrim, Math.Max(_time.GetTimestamp(), 1));
            string why = $"trimmed: {open.Count} connections, over the low watermark of {s.LowWater}";
            await Task.WhenAll(victims.Select(v => v.Target.CloseAsync(CloseReason.Trimmed, $"{why} (value {v.Value})"))).ConfigureAwait(false);
            Interlocked.Add(ref _trimmed, victims.Count);
            return victims.Count;
        }
        finally
        {
            _trimming.Release();
        }
    }

    /// <summary>
    /// At the hard cap with every connection in use, a dial may have one trimmed (<c>TrimAtLimit</c>): the lowest-value
    /// unprotected connection past its grace period. False when there is none.
    /// </summary>
    public async Task<bool> TrimOneAsync()
    {
        await _trimming.WaitAsync().ConfigureAwait(false);
        try
        {
            var s = _settings();
            var victim = Candidates(_connections().Where(c => c.IsOpen).ToList(), s).FirstOrDefault();
            if (victim.Target is null)
                return false;
            await victim.Target.CloseAsync(CloseReason.Trimmed,
                $"trimmed to make room for a dial at the connection limit (value {victim.Value})").ConfigureAwait(false);
            Interlocked.Increment(ref _trimmed);
            return true;
        }
        finally
        {
            _trimming.Release();
        }
    }

    // Unprotected and past their grace period, lowest value first; ties: fewer streams, inbound, oldest.
    private IEnumerable<(ITrimTarget Target, long Value)> Candidates(List<ITrimTarget> open, TrimSettings s)
    {
        long now = _time.GetTimestamp();
        return open
            .Where(c => !Tags.IsProtected(c.RemoteId) && _time.GetElapsedTime(c.EstablishedTimestamp, now) >= s.GracePeriod)
            .Select(c => (Target: c, Value: Tags.ValueOf(c.RemoteId)))
            .OrderBy(c => c.Value)
            .ThenBy(c => c.Target.StreamCount)
            .ThenBy(c => c.Target.Inbound ? 0 : 1)
            .ThenBy(c => c.Target.EstablishedTimestamp)
            .ToList();
    }

    public async ValueTask DisposeAsync()
    {
        ITimer? timer;
        lock (_lock)
        {
            _disposed = true;
            timer = _timer;
            _timer = null;
        }
        if (timer is not null)
            await timer.DisposeAsync().ConfigureAwait(false);
    }
}
