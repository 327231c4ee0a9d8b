using Polly;
using Polly.Retry;

namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>
    /// Turns automatic reconnect on or off for one peer, overriding <see cref="ConnectionManagerOptions.AutoReconnect"/>.
    /// A peer with it on is redialed (at its address-book endpoint, with exponential backoff and jitter) when its
    /// connection is lost: closed by the remote, failed, or found dead by keepalive. A disconnect on purpose stops it.
    /// </summary>
    public void SetAutoReconnect(PeerId peerId, bool enabled)
    {
        if (peerId == LocalPeerId)
            throw new ArgumentException("A node does not connect to itself.", nameof(peerId));
        ThrowIfDisposed();
        var entry = GetOrAddEntry(peerId);
        Volatile.Write(ref entry.AutoReconnect, enabled ? 1 : 0);
        if (!enabled)
            StopReconnect(entry);
    }

    private bool ReconnectsAutomatically(PeerEntry entry) => Volatile.Read(ref entry.AutoReconnect) switch
    {
        -1 => _options.AutoReconnect,
        var on => on == 1,
    };

    /// <summary>Starts the peer's reconnect loop unless one runs already.</summary>
    private void StartReconnect(PeerEntry entry)
    {
        if (IsDisposed || !ReconnectsAutomatically(entry) || entry.EndPoint is null)
            return;
        var stop = new CancellationTokenSource();
        if (Interlocked.CompareExchange(ref entry.Reconnect, stop, null) is not null)
        {
            stop.Dispose();
            return;
        }
        Volatile.Write(ref entry.ReconnectFailures, 0);
        entry.ReconnectLoop = ReconnectAsync(entry, stop);
    }

    /// <summary>Completes when the peer's reconnect loop (if any) has ended; for tests.</summary>
    internal Task ReconnectLoopOf(PeerId peerId) => _peers.TryGetValue(peerId, out var entry) ? entry.ReconnectLoop : Task.CompletedTask;

    private static void StopReconnect(PeerEntry entry)
    {
        if (Interlocked.Exchange(ref entry.Reconnect, null) is not { } stop)
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

    /// <summary>
    /// Redials until connected, with Polly's exponential backoff and decorrelated jitter capped at
    /// <see cref="ConnectionManagerOptions.ReconnectMaxDelay"/>. Ends on success, on a failure that retrying cannot
    /// mend (no address, denied), on a disconnect on purpose, or on disposal.
    /// </summary>
    private async Task ReconnectAsync(PeerEntry entry, CancellationTokenSource stop)
    {
        if (!TryEnter())
        {
            Interlocked.CompareExchange(ref entry.Reconnect, null, stop);
            stop.Dispose();
            return;
        }
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, _disposing.Token);
            var retry = new ResiliencePipelineBuilder { TimeProvider = _time }
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder()
                        .Handle<PeerConnectException>(ex => ex is not PeerDeniedException)
                        .Handle<ConnectionLimitReachedException>(),
                    MaxRetryAttempts = int.MaxValue,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = _options.ReconnectJitter,
                    Delay = _options.ReconnectDelay,
                    MaxDelay = _options.ReconnectMaxDelay,
                    OnRetry = args =>
                    {
                        Volatile.Write(ref entry.ReconnectDelayTicks, args.RetryDelay.Ticks);
                        Volatile.Write(ref entry.ReconnectFailures, args.AttemptNumber + 1);
                        return default;
                    },
                })
                .Build();
            await retry.ExecuteAsync(static async (s, ct) =>
            {
                Interlocked.Increment(ref s.Self._metrics.ReconnectAttempts);
                await s.Self.ConnectCoreAsync(s.Entry.Id, null, ct).ConfigureAwait(false);
            }, (Self: this, Entry: entry), linked.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _metrics.Reconnects);
        }
        catch (Exception)
        {
            // Stopped (disconnect, disposal, turned off) or a failure retrying cannot mend: the status says which.
        }
        finally
        {
            Interlocked.CompareExchange(ref entry.Reconnect, null, stop);
            stop.Dispose();
            Exit();
        }
    }
}
