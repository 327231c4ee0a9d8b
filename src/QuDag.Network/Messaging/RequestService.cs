using System.Runtime.CompilerServices;
using System.Threading.Channels;
using QuDag.P2p;
using QuDag.P2p.Muxing;
using QuDag.P2p.Upgrade;

namespace QuDag.Network.Messaging;

/// <summary>
/// Both roles of QuDAG's <c>/qudag/req/1.0.0</c>: one request per stream, the writer closes its side and the
/// reader reads to the end (1 MiB request and 10 MiB response caps, a timeout), as rust-libp2p's
/// request-response with its cbor codec. Requests are served by a handler or queued for a caller to pull.
/// </summary>
internal sealed class RequestService : IAsyncDisposable
{
    private readonly Channel<IncomingRequest> _queue;
    private readonly TimeProvider _time;
    private readonly Func<TimeSpan> _timeout;
    private readonly Action<int, int>? _served;
    private readonly CancellationTokenSource _stopping = new();
    private long _nextId;

    /// <param name="time">The clock of latencies and timestamps.</param>
    /// <param name="timeout">Read on every request, so a changed setting applies at once.</param>
    /// <param name="queueCapacity">Inbound requests kept for a caller that pulls.</param>
    /// <param name="served">Told the request and response sizes of every request this node answered.</param>
    public RequestService(TimeProvider time, Func<TimeSpan> timeout, int queueCapacity, Action<int, int>? served = null)
    {
        _time = time;
        _timeout = timeout;
        _served = served;
        _queue = Channel.CreateBounded<IncomingRequest>(new BoundedChannelOptions(queueCapacity) { FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>Serves requests as they come when set; otherwise they wait for <see cref="ReceiveAsync"/>.</summary>
    public Func<IncomingRequest, CancellationToken, ValueTask<byte[]>>? Handler { get; set; }

    public long Served;
    public long Refused;

    /// <summary>Sends a request on an open connection and awaits the response.</summary>
    public async Task<QuDagResponse> SendAsync(P2pConnection connection, ReadOnlyMemory<byte> payload, string? requestId, CancellationToken cancellationToken)
    {
        requestId ??= Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        // The cap is on the encoded body: serde's array of uints spends 2 bytes on every payload byte of 24 or more.
        byte[] body = QuDagRequestCodec.Encode(requestId, payload.Span);
        if (body.Length > QuDagRequestCodec.MaxRequestSize)
            throw new ArgumentException($"The request encodes to {body.Length} bytes, over the protocol's 1 MiB cap (a payload byte of 24 or more takes two).", nameof(payload));
        long start = _time.GetTimestamp();
        var limit = _timeout();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        timeout.CancelAfter(limit);
        MuxedStream stream;
        try
        {
            stream = await connection.OpenStreamAsync(QuDagRequestCodec.ProtocolId, timeout.Token).ConfigureAwait(false);
        }
        catch (ProtocolNotSupportedException)
        {
            throw new PeerProtocolNotSupportedException(connection.RemotePeer, QuDagRequestCodec.ProtocolId);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && !_stopping.IsCancellationRequested)
        {
            throw new RequestTimeoutException(connection.RemotePeer, requestId, limit);
        }
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                await stream.WriteAsync(body, timeout.Token).ConfigureAwait(false);
                await stream.CloseWriteAsync(timeout.Token).ConfigureAwait(false);
                byte[] answer = await QuDagRequestCodec.ReadToEndAsync(stream, QuDagRequestCodec.MaxResponseSize, timeout.Token).ConfigureAwait(false);
                if (answer.Length == 0)
                    throw new QuDagProtocolException($"Peer {connection.RemotePeer} closed request '{requestId}' without a response.", connection.RemotePeer);
                var (id, response) = QuDagRequestCodec.Decode(answer);
                return new QuDagResponse(connection.RemotePeer, id, response, _time.GetElapsedTime(start));
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && !_stopping.IsCancellationRequested)
            {
                stream.Reset();
                throw new RequestTimeoutException(connection.RemotePeer, requestId, limit);
            }
            catch (OperationCanceledException)
            {
                // Abandoned by the caller: a reset tells the responder at once, where a close would read as a request.
                stream.Reset();
                throw;
            }
            catch (IOException ex)
            {
                throw new QuDagProtocolException($"Peer {connection.RemotePeer} reset request '{requestId}': {ex.Message}", connection.RemotePeer);
            }
        }
    }

    /// <summary>The next queued request (when no <see cref="Handler"/> is set).</summary>
    public async ValueTask<IncomingRequest> ReceiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _queue.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(ConnectionManager));
        }
    }

    /// <summary>Takes a queued request if one waits.</summary>
    public bool TryReceive(out IncomingRequest? request) => _queue.Reader.TryRead(out request);

    /// <summary>Inbound requests served at once per connection, as rust-libp2p's request-response limits them.</summary>
    public const int MaxConcurrentPerConnection = 32;

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<P2pConnection, StrongBox<int>> _inFlight = new();

    /// <summary>
    /// The host's handler for inbound <c>/qudag/req/1.0.0</c> streams. At most <see cref="MaxConcurrentPerConnection"/>
    /// per connection: each may buffer up to 1 MiB, so a peer opening a thousand of them is reset, not served.
    /// </summary>
    public async Task ServeAsync(MuxedStream stream, P2pConnection connection, CancellationToken cancellationToken)
    {
        var count = _inFlight.GetValue(connection, static _ => new StrongBox<int>());
        if (Interlocked.Increment(ref count.Value) > MaxConcurrentPerConnection)
        {
            Interlocked.Decrement(ref count.Value);
            Interlocked.Increment(ref Refused);
            stream.Reset();
            return;
        }
        try
        {
            await ServeCoreAsync(stream, connection, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref count.Value);
        }
    }

    private async Task ServeCoreAsync(MuxedStream stream, P2pConnection connection, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        timeout.CancelAfter(_timeout());
        IncomingRequest request;
        try
        {
            byte[] body = await QuDagRequestCodec.ReadToEndAsync(stream, QuDagRequestCodec.MaxRequestSize, timeout.Token).ConfigureAwait(false);
            var (id, payload) = QuDagRequestCodec.Decode(body);
            request = new IncomingRequest(connection.RemotePeer, id, payload, _time.GetUtcNow());
        }
        catch (QuDagProtocolException)
        {
            Interlocked.Increment(ref Refused);
            stream.Reset();
            return;
        }
        byte[]? response;
        try
        {
            if (Handler is { } handler)
            {
                response = await handler(request, timeout.Token).ConfigureAwait(false);
            }
            else
            {
                // A full queue means nobody pulls: refuse rather than hold the stream (and its buffers) open.
                if (!_queue.Writer.TryWrite(request))
                {
                    Interlocked.Increment(ref Refused);
                    stream.Reset();
                    return;
                }
                using var expire = timeout.Token.Register(static r => ((IncomingRequest)r!).Expire(), request);
                response = await request.Response.ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            response = null;
        }
        byte[]? encoded = response is null ? null : QuDagRequestCodec.Encode(request.RequestId, response);
        if (encoded is null || encoded.Length > QuDagRequestCodec.MaxResponseSize || timeout.IsCancellationRequested)
        {
            Interlocked.Increment(ref Refused);
            stream.Reset();
            return;
        }
        try
        {
            await stream.WriteAsync(encoded, timeout.Token).ConfigureAwait(false);
            await stream.CloseWriteAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or MuxerClosedException or OperationCanceledException or ObjectDisposedException)
        {
            // The asker gave up or went away before the answer was written: nothing more to do for it.
            Interlocked.Increment(ref Refused);
            stream.Reset();
            return;
        }
        Interlocked.Increment(ref Served);
        _served?.Invoke(request.Payload.Length, response!.Length);
    }

    public ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _queue.Writer.TryComplete();
        while (_queue.Reader.TryRead(out var pending))
            pending.Expire();
        _stopping.Dispose();
        return ValueTask.CompletedTask;
    }
}
