using System.Buffers;
using System.Net;
using QuDag.P2p;
using QuDag.P2p.Encoding;
using QuDag.P2p.Host;
using QuDag.P2p.Muxing;
using QuDag.P2p.Upgrade;

namespace QuDag.Network;

/// <summary>
/// The manager's view of one live libp2p connection: messages on <c>/qudag-ps/msg/1.0.0</c> (one long-lived
/// stream per direction, uvarint-length-prefixed, backpressured by yamux's window), pings on
/// <c>/ipfs/ping/1.0.0</c>, keepalive, and one report to the owner when it ends, with why.
/// </summary>
internal sealed class PeerConnection : IKeepAliveTarget, IIdleConnection, ITrimTarget
{
    /// <summary>Our message protocol between QuDag.PS nodes.</summary>
    public const string MessageProtocol = "/qudag-ps/msg/1.0.0";

    private readonly IConnectionOwner _owner;
    private readonly P2pHost _host;
    private readonly TimeProvider _time;
    private readonly int _maxFrameSize;
    private SemaphoreSlim? _sendGate; // made at the first send or close (SendGate): most pooled connections never send
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _lifetime = new();
    private MuxedStream? _sendStream;
    private long _lastReceived;     // clock timestamp of the last message or pong
    private long _keepAlivePingAt;  // when the unanswered keepalive ping went out; 0: none outstanding
    private int _delivering;        // inbound streams waiting for room in the receive queue
    private int _receiving;         // 1 while the remote's message stream is being read
    private int _closing;
    private CloseInfo? _closeInfo;

    public PeerConnection(IConnectionOwner owner, P2pHost host, P2pConnection connection, ConnectionManagerOptions options)
    {
        _owner = owner;
        _host = host;
        _time = options.TimeProvider;
        _maxFrameSize = options.MaxFrameSize;
        Connection = connection;
        EstablishedAt = _time.GetUtcNow();
        EstablishedTimestamp = _time.GetTimestamp();
        _lastReceived = _time.GetTimestamp();
    }

    /// <summary>The owner hears <see cref="IConnectionOwner.OnOpened"/> now, and OnClosed once <see cref="OnEnded"/> is called.</summary>
    public void Start() => _owner.OnOpened(this);

    public P2pConnection Connection { get; }

    public P2p.Identity.PeerId RemoteId => Connection.RemotePeer;

    public EndPoint RemoteEndPoint => Connection.RemoteEndPoint;

    public bool Inbound => Connection.Direction == Direction.Inbound;

    public TimeSpan HandshakeTime => Connection.HandshakeTime;

    public DateTimeOffset EstablishedAt { get; }

    /// <summary>The clock's timestamp at <see cref="EstablishedAt"/> (the trimmer's grace period counts from it).</summary>
    public long EstablishedTimestamp { get; }

    /// <summary>Open streams on the connection now.</summary>
    public int StreamCount => Connection.Session.StreamCount;

    /// <summary>False once the connection started closing, from either end.</summary>
    public bool IsOpen => Volatile.Read(ref _closing) == 0 && Connection.IsOpen;

    /// <summary>Set once the connection is closed and the owner was told.</summary>
    public Task Completion => _closed.Task;

    public CloseInfo? CloseInfo => _closeInfo;

    private int _closeReported;

    /// <summary>The owner already told the peer's table why this connection closes (a disconnect's status change).</summary>
    public bool CloseReported => Volatile.Read(ref _closeReported) != 0;

    public void MarkCloseReported() => Volatile.Write(ref _closeReported, 1);

    /// <summary>Sends one message; waits only while the remote's window is full (backpressure).</summary>
    public async ValueTask SendDataAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (payload.Length > _maxFrameSize)
            throw new ArgumentException($"A message of {payload.Length} bytes exceeds the maximum message size of {_maxFrameSize} bytes.", nameof(payload));
        if (!IsOpen)
            throw new PeerNotConnectedException(RemoteId);
        var gate = SendGate;
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        MuxedStream? stream = null;
        try
        {
            stream = _sendStream ??= await OpenMessageStreamAsync(cancellationToken).ConfigureAwait(false);
            int header = Varint.SizeOf((ulong)payload.Length);
            byte[] frame = ArrayPool<byte>.Shared.Rent(header + payload.Length);
            try
            {
                Varint.Write(frame, (ulong)payload.Length);
                payload.Span.CopyTo(frame.AsSpan(header));
                await stream.WriteAsync(frame.AsMemory(0, header + payload.Length), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(frame);
            }
        }
        catch (Exception ex) when (stream is not null)
        {
            // Part of the message may be on the wire already (yamux writes in window-sized frames), and a reset
            // stream never recovers: drop it, so the next message starts on a fresh stream at a message boundary.
            stream.Reset();
            _sendStream = null;
            if (ex is IOException or MuxerClosedException or ObjectDisposedException)
                throw new PeerNotConnectedException(RemoteId);
            throw;
        }
        catch (Exception ex) when (ex is IOException or MuxerClosedException or ObjectDisposedException)
        {
            throw new PeerNotConnectedException(RemoteId);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>True while a message waits for the remote's flow-control credit (the remote stopped reading); for tests.</summary>
    internal bool SendWaitsForCredit => _sendStream?.WaitingForCredit == true;

    /// <summary>Serialises sends on the message stream; concurrent first users share the one that wins the exchange.</summary>
    private SemaphoreSlim SendGate => Volatile.Read(ref _sendGate)
        ?? Interlocked.CompareExchange(ref _sendGate, new SemaphoreSlim(1, 1), null)
        ?? _sendGate!;

    private async Task<MuxedStream> OpenMessageStreamAsync(CancellationToken cancellationToken)
    {
        // Bounded: a peer that accepts the stream and never answers multistream must not hold every send to it.
        using var negotiation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        negotiation.CancelAfter(NegotiationTimeout);
        try
        {
            return await Connection.OpenStreamAsync(MessageProtocol, negotiation.Token).ConfigureAwait(false);
        }
        catch (ProtocolNotSupportedException)
        {
            throw new PeerProtocolNotSupportedException(RemoteId, MessageProtocol);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new QuDagProtocolException($"Peer {RemoteId} did not agree on {MessageProtocol} within {NegotiationTimeout.TotalSeconds:0} s.", RemoteId);
        }
    }

    /// <summary>How long the remote may take to accept our message stream.</summary>
    private static readonly TimeSpan NegotiationTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Reads the remote's message stream until it ends, handing each message to the owner. One inbound message
    /// stream per connection: another one is reset, so a peer cannot multiply the buffers it makes us hold.
    /// </summary>
    public async Task ReceiveMessagesAsync(MuxedStream stream, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _receiving, 1, 0) != 0)
        {
            stream.Reset();
            return;
        }
        try
        {
            await ReceiveCoreAsync(stream, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _receiving, 0);
        }
    }

    private async Task ReceiveCoreAsync(MuxedStream stream, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        var reader = new MessageReader(stream, _maxFrameSize);
        while (await ReadOrFailAsync(reader, linked.Token).ConfigureAwait(false) is { } payload)
        {
            Volatile.Write(ref _lastReceived, _time.GetTimestamp());
            var task = _owner.OnDataAsync(this, payload, _time.GetUtcNow(), linked.Token);
            if (!task.IsCompletedSuccessfully)
            {
                // Not reading while the queue is full: yamux's window then stops the sender.
                Interlocked.Increment(ref _delivering);
                try { await task.ConfigureAwait(false); }
                finally { Interlocked.Decrement(ref _delivering); }
            }
        }
    }

    /// <summary>A message over the maximum or a cut-off one is the peer breaking our protocol: the connection fails, not just the stream.</summary>
    private async ValueTask<byte[]?> ReadOrFailAsync(MessageReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (QuDagProtocolException ex)
        {
            Fail(new CloseInfo(CloseReason.ProtocolError, $"protocol error: {ex.Message}", Failed: true));
            throw;
        }
    }

    // Pooled: the manager's ping adds this layer to the host's, and should add no allocation with it.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<TimeSpan> PingAsync(CancellationToken cancellationToken)
    {
        if (!IsOpen)
            throw new PeerNotConnectedException(RemoteId);
        TimeSpan rtt;
        try
        {
            rtt = await _host.PingCoreAsync(Connection, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or P2pException or InvalidOperationException or ObjectDisposedException)
        {
            throw new PeerNotConnectedException(RemoteId);
        }
        Volatile.Write(ref _lastReceived, _time.GetTimestamp());
        _owner.OnPingRoundTrip(this, rtt);
        return rtt;
    }

    /// <summary>Closes from this side: yamux GoAway, then the socket. Idempotent.</summary>
    public async Task CloseAsync(CloseReason code, string reason, string? scope = null)
    {
        if (Interlocked.CompareExchange(ref _closing, 1, 0) == 0)
        {
            _closeInfo = new CloseInfo(code, reason, Failed: false, Deliberate: true, scope);
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await FinishSendingAsync(bounded.Token).ConfigureAwait(false);
            try
            {
                await Connection.CloseAsync(bounded.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                await Connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        await Completion.ConfigureAwait(false);
    }

    /// <summary>
    /// Ends our message stream with a FIN after the last queued message, so the remote reads every message we
    /// sent before the connection closes (after a send in flight, if any, within the bound).
    /// </summary>
    private async Task FinishSendingAsync(CancellationToken cancellationToken)
    {
        var gate = SendGate;
        try
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            if (_sendStream is { } stream)
                await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Already reset or gone: the close below ends it anyway.
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Closes at once, without a goodbye: for idle connections the pool drops in bulk (expiry, eviction).</summary>
    public Task AbortAsync(CloseReason code, string reason, string? scope = null)
    {
        if (Interlocked.CompareExchange(ref _closing, 1, 0) == 0)
        {
            _closeInfo = new CloseInfo(code, reason, Failed: false, Deliberate: true, scope);
            Connection.Abort(); // OnEnded hears the end
        }
        return Completion;
    }

    /// <summary>
    /// The keepalive check, run by the manager's timer: a ping after <paramref name="interval"/> of silence, and a
    /// failure when that ping is unanswered after <paramref name="timeout"/>.
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
            return Fail(new CloseInfo(CloseReason.KeepAliveFailed, $"keepalive: no answer to a ping within {timeout.TotalSeconds:0.###} s", Failed: true));
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
            Volatile.Write(ref _keepAlivePingAt, 0);
        }
        catch (Exception)
        {
            // Closed meanwhile, or no answer: the next check fails it once the timeout has passed.
        }
    }

    /// <summary>Ends the connection because of a fault (keepalive miss, protocol error).</summary>
    /// <returns>True when this call closed it; false when it was already closing.</returns>
    public bool Fail(CloseInfo info)
    {
        if (Interlocked.CompareExchange(ref _closing, 1, 0) != 0)
            return false;
        _closeInfo = info;
        Connection.Abort(); // OnEnded hears the end
        return true;
    }

    private int _ended;

    /// <summary>
    /// The connection has ended (its Completion is complete): the owner hears why, once. Told by the host's
    /// ConnectionClosed rather than found by awaiting Completion here: the host's connection task already waits for it,
    /// and a second waiter cost every close a thread-pool hop (the runtime runs all but one waiter of a task on the pool).
    /// </summary>
    public void OnEnded()
    {
        Task completion = Connection.Completion;
        if (!completion.IsCompleted || Interlocked.Exchange(ref _ended, 1) != 0)
            return;
        CloseInfo remoteInfo;
        if (completion.IsCompletedSuccessfully)
        {
            remoteInfo = new CloseInfo(CloseReason.RemoteClosed, "the remote closed the connection", Failed: false);
        }
        else
        {
            // A breach of the muxer's rules (ours or theirs, GoAway 1 or 2) against a reset or a lost connection.
            Exception ex = completion.Exception?.InnerException ?? new TaskCanceledException(completion);
            remoteInfo = ex is P2pProtocolException or MuxerClosedException
                ? new CloseInfo(CloseReason.ProtocolError, $"protocol error: {ex.Message}", Failed: true)
                : new CloseInfo(CloseReason.RemoteReset, $"connection lost: {ex.Message}", Failed: true);
        }
        Interlocked.Exchange(ref _closing, 1);
        var info = _closeInfo ??= remoteInfo;
        _lifetime.Cancel();
        try
        {
            _owner.OnClosed(this, info);
        }
        finally
        {
            _closed.TrySetResult();
        }
    }

    public override string ToString() => $"{RemoteId.ToShortString()} {(Inbound ? "<-" : "->")} {RemoteEndPoint}";

    /// <summary>
    /// Reads uvarint-length-prefixed messages from a stream. The buffer grows only as bytes arrive (a declared
    /// length alone allocates nothing) and shrinks back after a large message, so an idle stream holds 16 KiB.
    /// </summary>
    private sealed class MessageReader(Stream stream, int maxMessageSize)
    {
        private const int InitialSize = 16 * 1024;
        private byte[] _buffer = new byte[InitialSize];
        private int _start;
        private int _end;

        public async ValueTask<byte[]?> ReadAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var available = _buffer.AsSpan(_start, _end - _start);
                int consumed = Varint.TryRead(available, out ulong length);
                if (consumed > 0)
                {
                    if (length > (ulong)maxMessageSize)
                        throw new QuDagProtocolException($"A message of {length} bytes exceeds the maximum of {maxMessageSize}.");
                    int total = consumed + (int)length;
                    if (available.Length >= total)
                    {
                        byte[] payload = available.Slice(consumed, (int)length).ToArray();
                        _start += total;
                        if (_start == _end && _buffer.Length > InitialSize)
                        {
                            _buffer = new byte[InitialSize];
                            _start = _end = 0;
                        }
                        return payload;
                    }
                }
                if (_start > 0)
                {
                    _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                    _end -= _start;
                    _start = 0;
                }
                if (_end == _buffer.Length)
                {
                    // Full of a message's bytes that did arrive: double, never past the message itself.
                    int need = consumed > 0 ? consumed + (int)length : _buffer.Length + 1;
                    Array.Resize(ref _buffer, Math.Min(need, _buffer.Length * 2));
                }
                int read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    if (_end != _start)
                        throw new QuDagProtocolException("The message stream ended inside a message.");
                    return null;
                }
                _end += read;
            }
        }
    }
}
