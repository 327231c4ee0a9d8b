using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Resources;
using QuDag.P2p.Security;
using QuDag.P2p.Upgrade.Multistream;

namespace QuDag.P2p.Upgrade;

/// <summary>
/// Turns a raw TCP stream into a <see cref="P2pConnection"/>: multistream-select picks a security protocol,
/// the handshake proves the remote's identity (checked against the one dialed and the gater), then a
/// muxer is agreed inside the handshake or by a second multistream round. The whole upgrade runs under one
/// deadline counted from the connection's start (the dial, or the accept), so a peer that drips bytes cannot hold a
/// socket past it, and a dial plus its upgrade never take more than one timeout together.
/// </summary>
public sealed class Upgrader
{
    private readonly IReadOnlyList<ISecurityTransport> _security;
    private readonly IReadOnlyList<IStreamMuxer> _muxers;
    private readonly string[] _securityIds;
    private readonly string[] _muxerIds;
    private readonly IConnectionGater _gater;
    private readonly TimeProvider _time;

    public Upgrader(IReadOnlyList<ISecurityTransport> security, IReadOnlyList<IStreamMuxer> muxers,
        IConnectionGater? gater = null, TimeSpan? timeout = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(security);
        ArgumentNullException.ThrowIfNull(muxers);
        if (security.Count == 0) throw new ArgumentException("Offer at least one security protocol.", nameof(security));
        if (muxers.Count == 0) throw new ArgumentException("Offer at least one muxer.", nameof(muxers));
        _security = security;
        _muxers = muxers;
        _securityIds = security.Select(s => s.ProtocolId).ToArray();
        _muxerIds = muxers.Select(m => m.ProtocolId).ToArray();
        _gater = gater ?? AllowAllGater.Instance;
        Timeout = timeout ?? TimeSpan.FromSeconds(10);
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// The deadline of a connection's setup, counted from the start timestamp each upgrade is given (10 s by default,
    /// as js-libp2p allows). May change while connections upgrade: each upgrade reads it when it starts.
    /// </summary>
    public TimeSpan Timeout
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _timeoutTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero, nameof(Timeout));
            Volatile.Write(ref _timeoutTicks, value.Ticks);
        }
    }

    private long _timeoutTicks;

    /// <summary>The security protocol ids in order of preference.</summary>
    public IReadOnlyList<string> SecurityProtocols => _securityIds;

    /// <summary>The muxer ids in order of preference.</summary>
    public IReadOnlyList<string> Muxers => _muxerIds;

    /// <summary>
    /// Upgrades a dialed stream. The stream is disposed when the upgrade fails; on success the connection owns it.
    /// Throws <see cref="PeerIdMismatchException"/> when the remote is not <paramref name="expectedRemote"/>,
    /// <see cref="ConnectionGatedException"/> when the gater refuses the peer, <see cref="TimeoutException"/>
    /// when the setup is not done <paramref name="timeout"/> (default <see cref="Timeout"/>) after
    /// <paramref name="startTimestamp"/>, and <see cref="UpgradeNegotiationException"/> when a multistream-select
    /// round breaks (in the first round: not a libp2p node, or one that hung up).
    /// </summary>
    /// <remarks>
    /// The optional scope is the connection's resources, pending until the handshake proves the peer: the upgrader
    /// attaches the peer (a full peer or system scope fails the upgrade with <see cref="ResourceLimitExceededException"/>)
    /// and the connection owns it from then on. On a failed upgrade the caller still owns it.
    /// </remarks>
    public Task<P2pConnection> UpgradeOutboundAsync(Stream raw, EndPoint local, EndPoint remote, PeerId? expectedRemote,
        long startTimestamp, CancellationToken cancellationToken, TimeSpan? timeout = null, ConnectionScope? scope = null)
        => UpgradeAsync(raw, local, remote, Direction.Outbound, expectedRemote, startTimestamp, timeout ?? Timeout, scope, cancellationToken);

    /// <summary>Upgrades an accepted stream; see <see cref="UpgradeOutboundAsync"/>.</summary>
    public Task<P2pConnection> UpgradeInboundAsync(Stream raw, EndPoint local, EndPoint remote,
        long startTimestamp, CancellationToken cancellationToken, ConnectionScope? scope = null)
        => UpgradeAsync(raw, local, remote, Direction.Inbound, null, startTimestamp, Timeout, scope, cancellationToken);

    private async Task<P2pConnection> UpgradeAsync(Stream raw, EndPoint local, EndPoint remote, Direction direction,
        PeerId? expectedRemote, long startTimestamp, TimeSpan timeout, ConnectionScope? scope, CancellationToken cancellationToken)
    {
        // On the upgrader's clock, as its handshake times are: a manager on a test clock times out on that clock. What
        // the TCP connect used of the deadline is gone; a connect that used it all gets a timer that fires at once.
        var left = timeout - _time.GetElapsedTime(startTimestamp);
        using var timer = new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1), _time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        Stream current = raw;
        try
        {
            bool outbound = direction == Direction.Outbound;
            string securityId = await NegotiateAsync(raw, _securityIds, outbound, security: true, remote, deadline.Token).ConfigureAwait(false);
            var security = _security.First(s => s.ProtocolId == securityId);

            var secured = outbound
                ? await security.SecureOutboundAsync(raw, expectedRemote, deadline.Token).ConfigureAwait(false)
                : await security.SecureInboundAsync(raw, deadline.Token).ConfigureAwait(false);
            current = secured.Stream;

            if (!_gater.InterceptSecured(direction, secured.RemotePeer, remote))
                throw new ConnectionGatedException($"The gater refused {direction.ToString().ToLowerInvariant()} peer {secured.RemotePeer} at {remote}.");
            // Established from here: the connection leaves the transient scope for its peer's and the system's.
            if (scope is not null)
                await scope.SetPeerAsync(secured.RemotePeer, deadline.Token).ConfigureAwait(false);

            string muxerId = secured.EarlyMuxer is { } early && _muxerIds.Contains(early)
                ? early
                : await NegotiateAsync(current, _muxerIds, outbound, security: false, remote, deadline.Token).ConfigureAwait(false);
            var muxer = _muxers.First(m => m.ProtocolId == muxerId);
            var session = muxer.CreateSession(current, isInitiator: outbound, scope);
            if (session is YamuxSession yamux && raw is NetworkStream network)
                yamux.SetTransport(network.Socket);

            // The transports' own ids, not the negotiated text: every connection keeps these two for its life.
            return new P2pConnection(session, secured.RemotePeer, secured.RemoteKey, direction, security.ProtocolId, muxer.ProtocolId,
                local, remote, _time.GetElapsedTime(startTimestamp), scope);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await current.DisposeAsync().ConfigureAwait(false);
            await raw.DisposeAsync().ConfigureAwait(false);
            throw new TimeoutException($"The {direction.ToString().ToLowerInvariant()} connection with {remote} was not set up (TCP, security, muxer) within {timeout.TotalSeconds:0.###} s.");
        }
        catch
        {
            await current.DisposeAsync().ConfigureAwait(false);
            await raw.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// One multistream-select round. A remote that garbles it, answers with something that is not multistream-select,
    /// or hangs up during it fails the same way every time (<see cref="UpgradeNegotiationException"/>), whichever of
    /// those the timing of a non-libp2p server makes it; a refusal of every protocol ("na") stays
    /// <see cref="ProtocolNotSupportedException"/>.
    /// </summary>
    private static async Task<string> NegotiateAsync(Stream stream, string[] protocols, bool outbound, bool security, EndPoint remote,
        CancellationToken cancellationToken)
    {
        try
        {
            return outbound
                ? await MultistreamSelect.SelectAsync(stream, protocols, cancellationToken).ConfigureAwait(false)
                : await MultistreamSelect.HandleAsync(stream, protocols.Contains, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is P2pProtocolException or IOException or SocketException && !cancellationToken.IsCancellationRequested)
        {
            // A hang-up (an end of stream or a reset, whichever the timing makes it) is also how a libp2p node refuses a
            // connection at a resource limit: say so, or a full node reads as "not libp2p".
            var why = !security ? "" : ex is IOException or SocketException || ex.InnerException is EndOfStreamException
                ? " (the remote closed the connection: a libp2p node refusing it at a resource limit, such as its connection limit, does so; so does a server that is not libp2p)"
                : " (is it a libp2p node?)";
            var what = security ? "a security protocol" : "a stream muxer";
            throw new UpgradeNegotiationException($"{remote} did not negotiate {what}{why} with multistream-select: {ex.Message}", security, ex);
        }
    }
}
