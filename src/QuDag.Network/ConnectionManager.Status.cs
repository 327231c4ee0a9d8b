namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>Records a peer's status and notifies subscribers (the seed's <c>update_status</c>). O(1), atomic.</summary>
    public Task UpdateStatusAsync(PeerId peerId, ConnectionStatus status) => UpdateStatusAsync(peerId, status, null);

    /// <summary>Records a peer's status with a reason (kept as its last error when <paramref name="status"/> is Failed).</summary>
    public Task UpdateStatusAsync(PeerId peerId, ConnectionStatus status, string? reason)
    {
        CheckStatus(status);
        ThrowIfDisposed();
        _peers.SetStatus(_peers.GetOrAddNamed(peerId), status, reason, recorded: true);
        return Task.CompletedTask;
    }

    /// <summary>Records many statuses in one call.</summary>
    public Task UpdateStatusesAsync(IEnumerable<KeyValuePair<PeerId, ConnectionStatus>> updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        ThrowIfDisposed();
        // Validate all first, so a bad entry changes nothing.
        var batch = updates.ToArray();
        foreach (var (_, status) in batch)
            CheckStatus(status);
        foreach (var (peerId, status) in batch)
            _peers.SetStatus(_peers.GetOrAddNamed(peerId), status, null, recorded: true);
        return Task.CompletedTask;
    }

    private static void CheckStatus(ConnectionStatus status)
    {
        // A range check, not Enum.IsDefined: this is on the per-update hot path and must not allocate.
        if ((uint)status > (uint)ConnectionStatus.Failed)
            throw new ArgumentOutOfRangeException(nameof(status), status, "Not a ConnectionStatus.");
    }

    /// <summary>A peer's status, or null for a peer never seen. O(1), lock-free, allocation-free.</summary>
    public ValueTask<ConnectionStatus?> GetStatusAsync(PeerId peerId) =>
        _peers.TryGet(peerId, out var entry) ? new ValueTask<ConnectionStatus?>(entry.Status) : default;

    /// <summary>Calls <paramref name="handler"/> on each status change of one peer until the returned object is disposed.</summary>
    public IDisposable Subscribe(PeerId peerId, Action<ConnectionStatusChangedEventArgs> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ThrowIfDisposed();
        return _peers.GetOrAddNamed(peerId).Subscribe(handler);
    }

    /// <summary>A snapshot of the metrics. Reads counters only: its cost does not grow with the number of peers.</summary>
    public Task<NetworkMetrics> GetMetricsAsync() => Task.FromResult(GetMetrics());

    /// <inheritdoc cref="GetMetricsAsync"/>
    public NetworkMetrics GetMetrics() =>
        _metrics.Snapshot(open: OpenConnections, active: _dialer.ActiveCount, idle: _dialer.Pool.Count, Settings.MaxConnections, _peers.Count);

    /// <summary>True when the manager knows the peer (it has an entry, whatever its status): what <see cref="GetPeer"/>
    /// answers with non-null, without building the description. O(1), allocation-free.</summary>
    public bool KnowsPeer(PeerId peerId) => _peers.TryGet(peerId, out _);

    /// <summary>What the manager knows of one peer, or null for a peer never seen.</summary>
    public PeerInfo? GetPeer(PeerId peerId) => _peers.TryGet(peerId, out var entry) ? Describe(entry) : null;

    /// <summary>Every peer the manager knows, by peer id.</summary>
    public IReadOnlyList<PeerInfo> GetPeers()
    {
        var list = _peers.Values.Select(Describe).ToList();
        list.Sort((a, b) => PeerIdOrder.Compare(a.PeerId, b.PeerId));
        return list;
    }

    private PeerInfo Describe(PeerEntry entry)
    {
        var active = entry.Active;
        var pooled = active is null ? _dialer.Pool.Find(entry.Id) : null;
        var connection = active ?? pooled?.Connection;
        var last = connection is null ? entry.LastConnection : null; // gone: what the table shows of it stays
        var identify = entry.Identify;
        return new PeerInfo
        {
            Security = connection?.Connection.Security ?? last?.Security,
            Muxer = connection?.Connection.Muxer ?? last?.Muxer,
            AgentVersion = identify?.AgentVersion,
            ProtocolVersion = identify?.ProtocolVersion,
            Protocols = identify?.Protocols ?? [],
            ListenAddresses = identify is null ? [] : ParseAddresses(identify.ListenAddrs),
            ObservedAddress = identify?.ObservedAddr is { } observed && Multiaddr.TryFromBytes(observed, out var o) ? o : null,
            PeerId = entry.Id,
            Status = entry.Status,
            Endpoint = connection?.RemoteEndPoint ?? entry.EndPoint ?? last?.RemoteEndPoint,
            LastError = entry.LastError,
            Pooled = pooled is not null,
            Inbound = connection?.Inbound ?? last?.Inbound,
            LastChange = _peers.LastChange(entry),
            Latency = entry.LastRoundTrip,
            IdleTime = pooled?.IdleTime,
            HandshakeTime = connection?.HandshakeTime,
            CircuitState = entry.Circuit?.State ?? CircuitState.Closed,
            ConsecutiveFailures = entry.Circuit?.FailuresInARow ?? 0,
            CircuitOpenUntil = entry.Circuit?.OpenUntil,
            AutoReconnect = _dialer.Reconnector.IsEnabled(entry.Reconnect),
            Reconnecting = entry.Reconnect.Running,
            ReconnectFailures = entry.Reconnect.Failures,
            ReconnectDelay = entry.Reconnect.Delay,
            ProtectionTags = _dialer.Trimmer.Tags.ProtectionsOf(entry.Id),
            Tags = _dialer.Trimmer.Tags.TagsOf(entry.Id),
            Value = _dialer.Trimmer.Tags.ValueOf(entry.Id),
            CloseReason = entry.LastClose?.Reason,
            CloseScope = entry.LastClose?.Scope,
            ClosedAt = entry.LastClose?.At,
        };
    }

    private static Multiaddr[] ParseAddresses(IReadOnlyList<byte[]> addresses)
    {
        var list = new List<Multiaddr>(addresses.Count);
        foreach (var bytes in addresses)
        {
            if (Multiaddr.TryFromBytes(bytes, out var address))
                list.Add(address);
        }
        return [.. list];
    }

    /// <summary>The idle pool's connections, longest idle first. Reading it does not refresh their expiry.</summary>
    public IReadOnlyList<PooledConnectionInfo> GetPooledConnections() => _dialer.Pool.Snapshot();

    /// <summary>Closes every idle pooled connection; returns how many.</summary>
    public async Task<int> ClearPoolAsync()
    {
        ThrowIfDisposed();
        var all = _dialer.Pool.TakeAll();
        await Task.WhenAll(all.Select(c => c.CloseAsync(CloseReason.LocalDisconnect, "the pool was cleared"))).ConfigureAwait(false);
        return all.Count;
    }
}
