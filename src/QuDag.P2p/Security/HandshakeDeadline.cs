namespace QuDag.P2p.Security;

/// <summary>The deadline of a security handshake, on the clock the host was given.</summary>
internal static class HandshakeDeadline
{
    /// <summary>
    /// Cancels <paramref name="source"/> after <paramref name="timeout"/> on <paramref name="clock"/>: CancelAfter for the
    /// system clock (no extra allocation), else a timer of the injected clock, returned for the caller to dispose.
    /// </summary>
    public static ITimer? Start(CancellationTokenSource source, TimeSpan timeout, TimeProvider clock)
    {
        if (clock == TimeProvider.System)
        {
            source.CancelAfter(timeout);
            return null;
        }
        // It may fire while the source is being disposed, so the callback tolerates that.
        return clock.CreateTimer(
            static state =>
            {
                try { ((CancellationTokenSource)state!).Cancel(); }
                catch (ObjectDisposedException) { }
            },
            source, timeout, Timeout.InfiniteTimeSpan);
    }
}
