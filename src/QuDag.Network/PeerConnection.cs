using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace QuDag.Network;

/// <summary>
/// One authenticated TLS connection to a peer after its HELLO exchange. A read loop decodes frames for
/// the life of the connection (also while it idles in the pool, so a remote close is noticed); a write
/// loop drains an output pipe into the <see cref="SslStream"/>, so concurrent sends batch into large writes.
/// </summary>
internal sealed partial class PeerConnection
{
    // Senders wait for room only when this much is already encoded and not yet handed to the socket.
    private const int SendBacklogLimit = 256 * 1024;

    private readonly IConnectionOwner _owner;
    private readonly SslStream _ssl;
    private readonly PipeReader _input;
    // The send side: senders encode frames into _pending under _sendLock and return at once; the write loop swaps
    // _pending with _writing and writes the whole batch, so concurrent and back-to-back sends share one TLS write.
    private readonly object _sendLock = new();
    private FrameBatch _pending = new();
    private FrameBatch _writing = new();
    private TaskCompletionSource? _wake;    // set while the write loop waits for frames
    private TaskCompletionSource? _room;    // set while senders wait for the backlog to drain
    private bool _sendCompleted;            // no more frames: the CLOSE is queued, or the connection is going
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ConcurrentDictionary<ulong, PendingPing> _pings = new();
    private readonly TimeProvider _time;
    private readonly int _maxFrameSize;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _writeLoop = Task.CompletedTask;
    private ulong _nextPingToken;
    private long _lastReceived;     // clock timestamp of the last bytes read
    private long _keepAlivePingAt;  // when the unanswered keepalive PING went out; 0: none outstanding
    private DateTimeOffset _receivedAt; // when the current read's bytes arrived (read loop only)
    private int _delivering;            // 1 while the read loop waits for room in the receive queue
    private int _closing;
    private CloseInfo? _closeInfo;

    private PeerConnection(IConnectionOwner owner, SslStream ssl, PipeReader input, PeerId remoteId, EndPoint remoteEndPoint,
        bool inbound, Hello remoteHello, TimeSpan handshakeTime, ConnectionManagerOptions options)
    {
        _owner = owner;
        _ssl = ssl;
        _input = input;
        _time = options.TimeProvider;
        _maxFrameSize = options.MaxFrameSize;
        RemoteId = remoteId;
        RemoteEndPoint = remoteEndPoint;
        Inbound = inbound;
        RemoteHello = remoteHello;
        HandshakeTime = handshakeTime;
        EstablishedAt = _time.GetUtcNow();
        _lastReceived = _time.GetTimestamp();
    }

    public PeerId RemoteId { get; }

    public EndPoint RemoteEndPoint { get; }

    public bool Inbound { get; }

    public Hello RemoteHello { get; }

    public TimeSpan HandshakeTime { get; }

    public DateTimeOffset EstablishedAt { get; }

    /// <summary>False once the connection started closing, from either end.</summary>
    public bool IsOpen => Volatile.Read(ref _closing) == 0;

    /// <summary>Set once the socket is closed and the owner was told.</summary>
    public Task Completion => _closed.Task;

    public CloseInfo? CloseInfo => _closeInfo;

    private void Start()
    {
        _owner.OnOpened(this);
        _writeLoop = WriteLoopAsync();
        _ = ReadLoopAsync();
    }

    public ValueTask SendDataAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (payload.Length > _maxFrameSize)
            throw new ArgumentException($"A message of {payload.Length} bytes exceeds the maximum frame size of {_maxFrameSize} bytes.", nameof(payload));
        return SendFrameAsync(FrameType.Data, payload, cancellationToken);
    }

    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken)
    {
        var token = Interlocked.Increment(ref _nextPingToken);
        var pending = new PendingPing(_time.GetTimestamp());
        _pings[token] = pending;
        try
        {
            var payload = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(payload, token);
            await SendFrameAsync(FrameType.Ping, payload, cancellationToken).ConfigureAwait(false);
            if (!IsOpen)
                throw new PeerNotConnectedException(RemoteId);
            return await pending.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pings.TryRemove(token, out _);
        }
    }

    /// <summary>Queues a frame; completes at once unless the backlog is over <see cref="SendBacklogLimit"/>.</summary>
    private ValueTask SendFrameAsync(FrameType type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        TaskCompletionSource room;
        lock (_sendLock)
        {
            if (!IsOpen || _sendCompleted)
                return ValueTask.FromException(new PeerNotConnectedException(RemoteId));
            if (_pending.Count < SendBacklogLimit)
            {
                Enqueue(type, payload.Span);
                return default;
            }
            room = _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        return SendWhenRoomAsync(room, type, payload, cancellationToken);
    }

    private async ValueTask SendWhenRoomAsync(TaskCompletionSource room, FrameType type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        while (true)
        {
            await room.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_sendLock)
            {
                if (!IsOpen || _sendCompleted)
                    throw new PeerNotConnectedException(RemoteId);
                if (_pending.Count < SendBacklogLimit)
                {
                    Enqueue(type, payload.Span);
                    return;
                }
                room = _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    // Under _sendLock.
    private void Enqueue(FrameType type, ReadOnlySpan<byte> payload)
    {
        _pending.Write(type, payload);
        if (_wake is { } wake)
        {
            _wake = null;
            wake.TrySetResult();
        }
    }

    // Under _sendLock: the backlog drained (or sending ended), so waiting senders look again.
    private void ReleaseRoom()
    {
        if (_room is { } room)
        {
            _room = null;
            room.TrySetResult();
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (true)
            {
                Task? wake = null;
                lock (_sendLock)
                {
                    if (_pending.Count > 0)
                    {
                        (_pending, _writing) = (_writing, _pending);
                        ReleaseRoom();
                    }
                    else if (_sendCompleted)
                    {
                        return;
                    }
                    else
                    {
                        _pending.Release(); // idle: hold no buffer
                        wake = (_wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                    }
                }
                if (wake is not null)
                {
                    await wake.ConfigureAwait(false);
                    continue;
                }
                await _ssl.WriteAsync(_writing.Written).ConfigureAwait(false);
                _writing.Release();
            }
        }
        catch (Exception ex)
        {
            // The socket is gone: end the read side too, so the connection tears down.
            Fail(new CloseInfo($"write failed: {ex.Message}", Failed: true));
        }
        finally
        {
            lock (_sendLock)
            {
                _sendCompleted = true;
                ReleaseRoom();
                _pending.Release();
            }
            _writing.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        var info = new CloseInfo("remote closed the connection", Failed: false);
        try
        {
            var token = _lifetime.Token;
            while (true)
            {
                var result = await _input.ReadAsync(token).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    _input.AdvanceTo(buffer.Start);
                    return; // aborted
                }
                // Once per read, not per frame: any bytes prove the peer alive, and the messages of one read share a time.
                Volatile.Write(ref _lastReceived, _time.GetTimestamp());
                Volatile.Write(ref _keepAlivePingAt, 0);
                _receivedAt = _time.GetUtcNow();
                try
                {
                    while (Frame.TryRead(ref buffer, _maxFrameSize, out var type, out var payload))
                    {
                        if (await HandleFrameAsync(type, payload, token).ConfigureAwait(false) is { } close)
                        {
                            info = close;
                            return;
                        }
                    }
                }
                finally
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                }
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                        info = new CloseInfo("remote closed the connection in the middle of a frame", Failed: true);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_lifetime.IsCancellationRequested)
        {
            // Closed from this side (or by the write loop); the reason was recorded there.
        }
        catch (QuDagProtocolException ex)
        {
            info = new CloseInfo($"protocol violation: {ex.Message}", Failed: true);
        }
        catch (Exception ex)
        {
            info = new CloseInfo($"connection lost: {ex.Message}", Failed: true);
        }
        finally
        {
            await TeardownAsync(info).ConfigureAwait(false);
        }
    }

    /// <returns>A close description when the frame ends the connection.</returns>
    private async ValueTask<CloseInfo?> HandleFrameAsync(FrameType type, ReadOnlySequence<byte> payload, CancellationToken token)
    {
        switch (type)
        {
            case FrameType.Data:
                var delivery = _owner.OnDataAsync(this, payload.ToArray(), _receivedAt, token);
                if (!delivery.IsCompletedSuccessfully)
                    await WaitForDeliveryAsync(delivery).ConfigureAwait(false);
                return null;
            case FrameType.Ping:
                if (payload.Length != 8)
                    throw new QuDagProtocolException($"PING payload of {payload.Length} bytes, expected 8.");
                _ = SendPongAsync(payload.ToArray());
                return null;
            case FrameType.Pong:
                if (payload.Length != 8)
                    throw new QuDagProtocolException($"PONG payload of {payload.Length} bytes, expected 8.");
                var token64 = ReadUInt64(payload);
                if (_pings.TryGetValue(token64, out var pending))
                {
                    var rtt = _time.GetElapsedTime(pending.StartTimestamp);
                    _owner.OnPingRoundTrip(this, rtt);
                    pending.Result.TrySetResult(rtt);
                }
                return null;
            case FrameType.Close:
                return new CloseInfo(ReadCloseReason(payload), Failed: false);
            default:
                throw new QuDagProtocolException($"Unexpected {type} frame after the handshake.");
        }
    }

    // The receive queue is full: reading stops on purpose (backpressure). The peer is not silent, it is waiting for
    // us, so keepalive leaves the connection alone until the message is delivered.
    private async ValueTask WaitForDeliveryAsync(ValueTask delivery)
    {
        Volatile.Write(ref _delivering, 1);
        try
        {
            await delivery.ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _lastReceived, _time.GetTimestamp());
            Volatile.Write(ref _keepAlivePingAt, 0);
            Volatile.Write(ref _delivering, 0);
        }
    }

    private async Task SendPongAsync(byte[] token)
    {
        try
        {
            await SendFrameAsync(FrameType.Pong, token, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The connection is closing; the read loop reports why.
        }
    }

    private static ulong ReadUInt64(ReadOnlySequence<byte> payload)
    {
        Span<byte> bytes = stackalloc byte[8];
        payload.CopyTo(bytes);
        return BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }

    private static string ReadCloseReason(ReadOnlySequence<byte> payload)
    {
        // [u8 code][UTF-8 reason]; an empty payload is a plain close.
        if (payload.Length <= 1)
            return "remote closed the connection";
        return "remote closed: " + Encoding.UTF8.GetString(payload.Slice(1));
    }

    /// <summary>Closes from this side: a CLOSE frame (best effort), then the socket. Idempotent.</summary>
    public async Task CloseAsync(string reason)
    {
        if (Interlocked.CompareExchange(ref _closing, 1, 0) == 0)
        {
            _closeInfo = new CloseInfo(reason, Failed: false, Deliberate: true);
            await SendCloseFrameAsync(reason).ConfigureAwait(false);
            _lifetime.Cancel();
        }
        await Completion.ConfigureAwait(false);
    }

    private async Task SendCloseFrameAsync(string reason)
    {
        // Bypasses the IsOpen check of SendFrameAsync: this is the last frame written.
        var bytes = Encoding.UTF8.GetBytes(reason.Length > 200 ? reason[..200] : reason);
        var payload = new byte[1 + bytes.Length];
        bytes.CopyTo(payload, 1);
        lock (_sendLock)
        {
            if (!_sendCompleted)
            {
                Enqueue(FrameType.Close, payload);
                _sendCompleted = true;
            }
            ReleaseRoom(); // a sender blocked on backpressure must not hold us up
        }
        // Give the write loop a bounded moment to put the CLOSE on the wire.
        try
        {
            await _writeLoop.WaitAsync(TimeSpan.FromSeconds(2), _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    /// <summary>
    /// Closes at once, without a CLOSE frame: for idle connections the pool drops in bulk (expiry, eviction), where
    /// the orderly close's frame, flush wait and cancellation cost more than the socket itself. The remote sees a
    /// TCP close, which the protocol reads as Disconnected.
    /// </summary>
    public Task AbortAsync(string reason)
    {
        if (Interlocked.CompareExchange(ref _closing, 1, 0) == 0)
        {
            _closeInfo = new CloseInfo(reason, Failed: false, Deliberate: true);
            _input.CancelPendingRead(); // the read loop returns without an exception and tears down...
            _lifetime.Cancel();         // ...also when it is not reading but waiting for room in the receive queue
        }
        return Completion;
    }

    /// <summary>
    /// The keepalive check, run by the manager's timer: a PING after <paramref name="interval"/> of silence, and a
    /// failure when that PING is unanswered after <paramref name="timeout"/>.
    /// </summary>
    /// <returns>True when this check failed the connection.</returns>
    public bool CheckKeepAlive(long now, TimeSpan interval, TimeSpan timeout)
    {
        if (!IsOpen || Volatile.Read(ref _delivering) != 0)
            return false;
        var pingAt = Volatile.Read(ref _keepAlivePingAt);
        if (pingAt != 0)
        {
            if (_time.GetElapsedTime(pingAt, now) < timeout)
                return false;
            return Fail(new CloseInfo($"keepalive: no answer to a PING within {timeout.TotalSeconds:0.###} s", Failed: true));
        }
        if (_time.GetElapsedTime(Volatile.Read(ref _lastReceived), now) < interval)
            return false;
        Volatile.Write(ref _keepAlivePingAt, now);
        _ = KeepAlivePingAsync();
        return false;
    }

    private async Task KeepAlivePingAsync()
    {
        try
        {
            await PingAsync(_lifetime.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Closed meanwhile; the read loop or the next check reports why.
        }
    }

    /// <summary>Ends the connection because of a fault (write error, keepalive miss).</summary>
    /// <returns>True when this call closed it; false when it was already closing.</returns>
    public bool Fail(CloseInfo info)
    {
        if (Interlocked.CompareExchange(ref _closing, 1, 0) != 0)
            return false;
        _closeInfo = info;
        _lifetime.Cancel();
        return true;
    }

    private async Task TeardownAsync(CloseInfo readLoopInfo)
    {
        Interlocked.Exchange(ref _closing, 1);
        var info = _closeInfo ??= readLoopInfo;
        lock (_sendLock)
        {
            _sendCompleted = true;
            ReleaseRoom();
            if (_wake is { } wake)
            {
                _wake = null;
                wake.TrySetResult();
            }
        }
        await _input.CompleteAsync().ConfigureAwait(false);
        // Disposing the stream closes the socket, which also ends a write loop stuck in a send.
        await _ssl.DisposeAsync().ConfigureAwait(false);
        await _writeLoop.ConfigureAwait(false);
        foreach (var ping in _pings.Values)
            ping.Result.TrySetException(new PeerNotConnectedException(RemoteId));
        try
        {
            _owner.OnClosed(this, info);
        }
        finally
        {
            _closed.TrySetResult();
        }
    }

    public override string ToString() => $"{RemoteId.Short} {(Inbound ? "<-" : "->")} {RemoteEndPoint}";

    private sealed class PendingPing(long startTimestamp)
    {
        public long StartTimestamp { get; } = startTimestamp;
        public TaskCompletionSource<TimeSpan> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
