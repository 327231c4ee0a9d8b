namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>Sends a message over the peer's active connection, on QuDag.PS's <c>/qudag-ps/msg/1.0.0</c>.</summary>
    /// <exception cref="PeerNotConnectedException">The peer has no active connection.</exception>
    /// <exception cref="PeerProtocolNotSupportedException">The peer is not a QuDag.PS node (it does not speak the message protocol).</exception>
    /// <exception cref="ArgumentException">The message is larger than <see cref="ConnectionManagerOptions.MaxFrameSize"/>.</exception>
    public async Task SendAsync(PeerId peerId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        var connection = ActiveConnection(peerId);
        try
        {
            await connection.SendDataAsync(payload, cancellationToken).ConfigureAwait(false);
        }
        catch (PeerNotConnectedException) when (IsDisposed)
        {
            throw new ObjectDisposedException(nameof(ConnectionManager));
        }
        _metrics.RecordSent(payload.Length);
    }

    /// <summary>
    /// Sends a request on QuDAG's <c>/qudag/req/1.0.0</c> (CBOR, as rust-libp2p's cbor codec) over the peer's
    /// active connection and awaits the response.
    /// </summary>
    /// <exception cref="PeerNotConnectedException">The peer has no active connection.</exception>
    /// <exception cref="PeerProtocolNotSupportedException">The peer does not serve <c>/qudag/req/1.0.0</c>.</exception>
    /// <exception cref="RequestTimeoutException">No response within <see cref="ConnectionManagerOptions.RequestTimeout"/>.</exception>
    public async Task<Messaging.QuDagResponse> RequestAsync(PeerId peerId, ReadOnlyMemory<byte> payload, string? requestId = null,
        CancellationToken cancellationToken = default)
    {
        var connection = ActiveConnection(peerId);
        var response = await _requests.SendAsync(connection.Connection, payload, requestId, cancellationToken).ConfigureAwait(false);
        _metrics.RecordSent(payload.Length);
        _metrics.RecordReceived(response.Payload.Length);
        return response;
    }

    /// <summary>
    /// Serves inbound <c>/qudag/req/1.0.0</c> requests as they arrive: the returned bytes are the response.
    /// While null (the default), requests queue for <see cref="ReceiveRequestAsync"/>.
    /// </summary>
    public Func<Messaging.IncomingRequest, CancellationToken, ValueTask<byte[]>>? RequestHandler
    {
        get => _requests.Handler;
        set => _requests.Handler = value;
    }

    /// <summary>Waits for the next inbound request (when no <see cref="RequestHandler"/> is set); answer it with RespondAsync.</summary>
    public ValueTask<Messaging.IncomingRequest> ReceiveRequestAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _requests.ReceiveAsync(cancellationToken);
    }

    /// <summary>Takes a queued inbound request if one waits.</summary>
    public bool TryReceiveRequest([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Messaging.IncomingRequest? request)
        => _requests.TryReceive(out request);

    /// <summary>
    /// Waits until the peer's active connection has answered identify (asked on every new connection) and
    /// returns what the manager then knows of the peer; identify's data is on <see cref="PeerInfo"/>.
    /// </summary>
    /// <exception cref="PeerNotConnectedException">The peer has no active connection.</exception>
    public async Task<PeerInfo> IdentifyAsync(PeerId peerId, CancellationToken cancellationToken = default)
    {
        var connection = ActiveConnection(peerId);
        var identify = await _host.IdentifyAsync(connection.Connection, cancellationToken).ConfigureAwait(false);
        var entry = _peers.GetOrAddNamed(peerId);
        entry.Identified(identify, seenAt: null);
        return Describe(entry);
    }

    /// <summary>Measures a PING/PONG round trip over the peer's active connection; it feeds the latency metrics.</summary>
    /// <exception cref="PeerNotConnectedException">The peer has no active connection, or it closed during the ping.</exception>
    public async Task<TimeSpan> PingAsync(PeerId peerId, CancellationToken cancellationToken = default)
    {
        var connection = ActiveConnection(peerId);
        try
        {
            return await connection.PingAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PeerNotConnectedException) when (IsDisposed)
        {
            throw new ObjectDisposedException(nameof(ConnectionManager));
        }
    }

    private PeerConnection ActiveConnection(PeerId peerId)
    {
        ThrowIfDisposed();
        return _dialer.ActiveConnection(peerId);
    }

    /// <summary>Waits for the next DATA message from any peer.</summary>
    /// <exception cref="ObjectDisposedException">The manager was disposed.</exception>
    public ValueTask<PeerMessage> ReceiveAsync(CancellationToken cancellationToken = default) => _inbox.ReceiveAsync(cancellationToken);

    /// <summary>Takes a received message if one is waiting.</summary>
    public bool TryReceive([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PeerMessage? message) => _inbox.TryReceive(out message);

    /// <summary>Received messages as they arrive, until cancelled or disposed.</summary>
    public IAsyncEnumerable<PeerMessage> ReceiveAllAsync(CancellationToken cancellationToken = default) => _inbox.ReceiveAllAsync(cancellationToken);
}
