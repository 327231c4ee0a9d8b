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
        if (IsDisposed || !ReconnectsAutomatically(entry) || RedialTarget(entry) is null)
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

    /// <summary>
    /// Where to redial a peer: its address-book endpoint, else (a peer known only from its inbound connection) the
    /// first TCP listen address its identify announced, preferring one on the address it was seen at.
    /// </summary>
    private static System.Net.EndPoint? RedialTarget(PeerEntry entry)
    {
        if (entry.EndPoint is { } known)
            return known;
        if (Volatile.Read(ref entry.Identify) is not { } identify)
            return null;
        System.Net.EndPoint? first = null;
        foreach (var bytes in identify.ListenAddrs)
        {
            if (!Multiaddr.TryFromBytes(bytes, out var address) || !address.TryGetEndPoint(out var endPoint))
                continue;
            if (endPoint is System.Net.IPEndPoint ip && entry.SeenAt is System.Net.IPAddress seen && ip.Address.Equals(seen))
                return endPoint;
            first ??= endPoint;
        }
        return first;
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
        bool succeeded = false, stopped = false;
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
                // A connection that died between its handshake and here is not a reconnect: try again.
                if (Volatile.Read(ref s.Entry.Active) is not { IsOpen: true })
                    throw new PeerConnectException($"The connection to {s.Entry.Id} was lost right after it was made.", s.Entry.Id,
                        s.Entry.EndPoint, ConnectFailureKind.Closed);
            }, (Self: this, Entry: entry), linked.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _metrics.Reconnects);
            succeeded = true;
        }
        catch (Exception)
        {
            // Stopped (disconnect, disposal, turned off) or a failure retrying cannot mend: the status says which.
        }
        finally
        {
            stopped = stop.IsCancellationRequested;
            Interlocked.CompareExchange(ref entry.Reconnect, null, stop);
            stop.Dispose();
            Exit();
        }
        // Lost again before the marker above was cleared: that close saw a loop running and started none.
        if (succeeded && !stopped && Volatile.Read(ref entry.Active) is not { IsOpen: true })
            StartReconnect(entry);
    }
}
