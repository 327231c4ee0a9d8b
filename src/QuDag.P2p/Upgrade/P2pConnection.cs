using System.Net;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Resources;
using QuDag.P2p.Upgrade.Multistream;

namespace QuDag.P2p.Upgrade;

/// <summary>
/// A live libp2p connection: a TCP socket, secured (Noise or TLS) and muxed (yamux), with the remote's
/// proven identity. Streams are opened negotiated to a protocol; the connection owns its session.
/// </summary>
public sealed class P2pConnection : IAsyncDisposable
{
    private readonly IMuxedSession _session;
    private int _disposed;

    internal P2pConnection(IMuxedSession session, PeerId remotePeer, PublicKey remoteKey, Direction direction,
        string security, string muxer, EndPoint localEndPoint, EndPoint remoteEndPoint, TimeSpan handshakeTime,
        ConnectionScope? scope = null)
    {
        _session = session;
        Resources = scope;
        RemotePeer = remotePeer;
        RemoteKey = remoteKey;
        Direction = direction;
        Security = security;
        Muxer = muxer;
        LocalEndPoint = localEndPoint;
        RemoteEndPoint = remoteEndPoint;
        HandshakeTime = handshakeTime;
    }

    /// <summary>The remote's peer id, proven by the security handshake.</summary>
    public PeerId RemotePeer { get; }

    /// <summary>The remote's public key.</summary>
    public PublicKey RemoteKey { get; }

    /// <summary>Who dialed.</summary>
    public Direction Direction { get; }

    /// <summary>The security protocol id ("/noise" or "/tls/1.0.0").</summary>
    public string Security { get; }

    /// <summary>The muxer protocol id ("/yamux/1.0.0").</summary>
    public string Muxer { get; }

    public EndPoint LocalEndPoint { get; }

    public EndPoint RemoteEndPoint { get; }

    /// <summary>From the socket's connect (or accept) to a muxed session: TCP, security and muxer negotiation.</summary>
    public TimeSpan HandshakeTime { get; }

    /// <summary>The muxed session (streams, muxer ping, GoAway).</summary>
    public IMuxedSession Session => _session;

    /// <summary>True until the connection ends.</summary>
    public bool IsOpen => _session.IsOpen && Volatile.Read(ref _disposed) == 0;

    /// <summary>Completes when the connection has ended, for whatever reason, and its resource scope was released (the
    /// session releases it before it completes).</summary>
    public Task Completion => _session.Completion;

    /// <summary>What the connection holds in the node's resource scopes (null: no accounting). Released when it ends (by
    /// its session).</summary>
    public ConnectionScope? Resources { get; }

    /// <summary>
    /// Opens a stream and negotiates one of <paramref name="protocols"/> (in order of preference) on it.
    /// Throws <see cref="ProtocolNotSupportedException"/> when the remote speaks none of them, and
    /// <see cref="ResourceLimitExceededException"/> when a peer, system or protocol scope has no room for the stream.
    /// </summary>
    public async Task<MuxedStream> OpenStreamAsync(IReadOnlyList<string> protocols, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(protocols);
        if (protocols.Count == 0) throw new ArgumentException("Name at least one protocol.", nameof(protocols));
        var stream = await _session.OpenStreamAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            stream.Protocol = await MultistreamSelect.SelectAsync(stream, protocols, cancellationToken).ConfigureAwait(false);
            stream.Scope?.SetProtocol(stream.Protocol); // the protocol's stream limit refuses here
            return stream;
        }
        catch
        {
            stream.Reset();
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Opens a stream negotiated to <paramref name="protocol"/>.</summary>
    public Task<MuxedStream> OpenStreamAsync(string protocol, CancellationToken cancellationToken)
        => OpenStreamAsync([protocol], cancellationToken);

    /// <summary>
    /// Closes in order: what is queued goes out, then yamux's GoAway, then the socket; streams still open are
    /// reset. Long-lived streams (ping, messages) never finish by themselves, so waiting for them would only
    /// add a timeout to every close.
    /// </summary>
    public async ValueTask CloseAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _session.ShutdownAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (cancellationToken.IsCancellationRequested)
            await _session.DisposeAsync().ConfigureAwait(false);
        await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // and the scope released
    }

    /// <summary>Closes at once: every stream is reset and the socket closed.</summary>
    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        await _session.DisposeAsync().ConfigureAwait(false);
        await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // and the scope released
    }

    /// <summary>
    /// Starts closing at once, as <see cref="DisposeAsync"/> does, without waiting: <see cref="Completion"/> tells when
    /// it has ended. For idle connections a pool drops in bulk, whose owner already watches Completion.
    /// </summary>
    public void Abort()
    {
        Interlocked.Exchange(ref _disposed, 1);
        _session.Abort();
    }

    public override string ToString() => $"{Direction} {RemotePeer} at {RemoteEndPoint} ({Security}, {Muxer})";
}
