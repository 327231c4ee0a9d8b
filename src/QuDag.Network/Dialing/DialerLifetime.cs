namespace QuDag.Network;

/// <summary>
/// The dialing parts' shared lifetime: counts operations in flight (connects, accepts, disconnects) so disposal waits
/// for them, and cancels dials in flight when disposal begins.
/// </summary>
internal sealed class DialerLifetime : IDisposable
{
    private readonly CancellationTokenSource _disposing = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _busy = 1;  // operations in flight, plus one for the lifetime itself until it is drained
    private int _disposed;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Cancelled when disposal begins (<see cref="Cancel"/>): dials in flight stop.</summary>
    public CancellationToken Disposing => _disposing.Token;

    public bool IsCancelled => _disposing.IsCancellationRequested;

    /// <summary>Counts an operation in flight, so disposal waits for it; false once disposal began.</summary>
    public bool TryEnter()
    {
        while (true)
        {
            var busy = Volatile.Read(ref _busy);
            if (busy == 0 || IsDisposed)
                return false;
            if (Interlocked.CompareExchange(ref _busy, busy + 1, busy) == busy)
                return true;
        }
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _busy) == 0)
            _drained.TrySetResult();
    }

    /// <summary>Marks disposal begun: no new operation starts. True for the first caller only.</summary>
    public bool TryMarkDisposed() => Interlocked.Exchange(ref _disposed, 1) == 0;

    /// <summary>Cancels the dials in flight.</summary>
    public void Cancel() => _disposing.Cancel();

    /// <summary>Waits for every operation in flight to end.</summary>
    public Task DrainAsync()
    {
        Exit();
        return _drained.Task;
    }

    public void Dispose() => _disposing.Dispose();
}
