namespace QuDag.P2p.Resources;

/// <summary>
/// What one stream holds: its slot in its peer's and the system scope, in its protocol's once negotiated
/// (<see cref="SetProtocol"/>), and the bytes it buffers, counted in its own, its connection's, its peer's, its
/// protocol's and the system scope (the muxer reserves before a buffer grows). One <see cref="Dispose"/> gives it all
/// back. Thread-safe: the muxer's reader reserves memory while the application negotiates and reads.
/// </summary>
public sealed class StreamScope : IDisposable
{
    private readonly ConnectionScope _connection;
    private readonly ResourceScope _peer;
    private readonly Lock _lock = new();
    private ResourceScope? _protocol;
    private long _memory;
    private bool _disposed;

    internal StreamScope(ConnectionScope connection, ResourceScope peer, bool inbound, ResourceScope self)
    {
        _connection = connection;
        _peer = peer;
        Inbound = inbound;
        Self = self;
    }

    /// <summary>Opened by the remote (true) or by us.</summary>
    public bool Inbound { get; }

    /// <summary>The stream's own scope (its memory against the per-stream limit).</summary>
    public ResourceScope Self { get; }

    /// <summary>The protocol scope, once negotiated.</summary>
    public ResourceScope? Protocol
    {
        get { lock (_lock) return _protocol; }
    }

    /// <summary>Bytes this stream holds reserved now.</summary>
    public long MemoryBytes
    {
        get { lock (_lock) return _memory; }
    }

    private ResourceDelta Slot => ResourceDelta.Stream(Inbound);

    /// <summary>
    /// The stream was negotiated to <paramref name="protocol"/>: it (and what it buffers) now counts in that protocol's
    /// scope too. A refusal leaves it as it was; the caller resets the stream.
    /// </summary>
    /// <exception cref="ResourceLimitExceededException">The protocol scope is full.</exception>
    public void SetProtocol(string protocol)
    {
        ArgumentException.ThrowIfNullOrEmpty(protocol);
        var scope = _connection.Manager.ProtocolScope(protocol);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_protocol is not null)
                throw new InvalidOperationException($"The stream scope is already attached to {_protocol.Name}.");
            if (scope.TryReserve(Slot.Plus(ResourceDelta.Bytes(_memory))) is { } full)
                throw full;
            _protocol = scope;
        }
    }

    /// <summary>
    /// Reserves <paramref name="bytes"/> before a buffer grows by them; null when every scope has room, else the refusal
    /// (nothing is reserved then: the muxer resets the stream).
    /// </summary>
    public ResourceLimitExceededException? TryReserveMemory(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var delta = ResourceDelta.Bytes(bytes);
        lock (_lock)
        {
            if (_disposed)
                return new ResourceLimitExceededException(ResourceScopeKind.Stream, "", "bytes of memory (the stream is closed)", _memory, _memory);
            // In order, undoing the ones taken when a later one refuses; each scope locks only itself.
            ResourceScope?[] edges = [Self, _connection.Self, _peer, _protocol, _connection.Manager.System];
            for (int i = 0; i < edges.Length; i++)
            {
                if (edges[i] is not { } edge)
                    continue;
                if (edge.TryReserve(delta) is { } refused)
                {
                    for (int j = 0; j < i; j++)
                        edges[j]?.Release(delta);
                    return refused;
                }
            }
            _memory += bytes;
            return null;
        }
    }

    /// <summary>Gives back <paramref name="bytes"/> the buffer no longer holds.</summary>
    public void ReleaseMemory(int bytes)
    {
        lock (_lock)
        {
            if (_disposed)
                return; // Dispose gave everything back already
            global::System.Diagnostics.Debug.Assert(bytes <= _memory, "a stream released more memory than it reserved");
            bytes = (int)Math.Min(bytes, _memory);
            ReleaseMemoryLocked(bytes);
        }
    }

    private void ReleaseMemoryLocked(long bytes)
    {
        if (bytes == 0)
            return;
        var delta = ResourceDelta.Bytes(bytes);
        Self.Release(delta);
        _connection.Self.Release(delta);
        _peer.Release(delta);
        _protocol?.Release(delta);
        _connection.Manager.System.Release(delta);
        _memory -= bytes;
    }

    /// <summary>Gives back the stream's slots and all its memory. Idempotent.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            ReleaseMemoryLocked(_memory);
            _disposed = true;
            _peer.Release(Slot);
            _protocol?.Release(Slot);
            _connection.Manager.System.Release(Slot);
        }
        _connection.Unhold();
    }
}
