using System.Buffers.Binary;
using System.Net.Sockets;
using NSec.Cryptography;
using QuDag.P2p.Identity;
using PublicKey = QuDag.P2p.Identity.PublicKey;

namespace QuDag.P2p.Security.Noise;

/// <summary>
/// libp2p's Noise security (<c>/noise</c>): the XX handshake of Noise_XX_25519_ChaChaPoly_SHA256 with an empty
/// prologue, each side proving its libp2p identity by signing its X25519 static key in the handshake payload.
/// The static key and that signed payload are made once per instance, so a handshake costs each side one
/// key generation, three key agreements and one signature check. Messages carry a 2-byte length prefix and
/// each is written with one write.
/// </summary>
public sealed class NoiseSecurity : ISecurityTransport, IDisposable
{
    public const string Id = "/noise";

    private readonly NoiseSecurityOptions _options;
    private readonly Key _staticKey;
    private readonly string[] _offeredMuxers;
    private readonly byte[] _payload;

    public NoiseSecurity(NodeIdentity identity, NoiseSecurityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        _options = options ?? new NoiseSecurityOptions();
        if (_options.HandshakeTimeout <= TimeSpan.Zero && _options.HandshakeTimeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(options), "The handshake timeout must be positive or infinite.");
        ArgumentNullException.ThrowIfNull(_options.TimeProvider);
        _offeredMuxers = _options.NegotiateEarlyMuxer ? [.. _options.StreamMuxers] : [];
        LocalPeer = identity.PeerId;
        _staticKey = Key.Create(KeyAgreementAlgorithm.X25519);
        byte[] staticPublic = _staticKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        byte[] signature = identity.Sign(NoiseHandshakePayload.SignedData(staticPublic));
        _payload = new NoiseHandshakePayload(identity.PublicKey.ToProtobuf(), signature, _offeredMuxers.Length > 0 ? _offeredMuxers : null).Encode();
    }

    public string ProtocolId => Id;

    /// <summary>The peer id this transport proves in every handshake.</summary>
    public PeerId LocalPeer { get; }

    public Task<SecuredChannel> SecureOutboundAsync(Stream insecure, PeerId? expectedRemote, CancellationToken cancellationToken)
        => HandshakeAsync(insecure, initiator: true, expectedRemote, cancellationToken);

    public Task<SecuredChannel> SecureInboundAsync(Stream insecure, CancellationToken cancellationToken)
        => HandshakeAsync(insecure, initiator: false, expectedRemote: null, cancellationToken);

    private async Task<SecuredChannel> HandshakeAsync(Stream insecure, bool initiator, PeerId? expectedRemote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(insecure);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var deadline = HandshakeDeadline.Start(timeout, _options.HandshakeTimeout, _options.TimeProvider);
        var handshake = new NoiseHandshakeState(initiator, _staticKey);
        bool success = false;
        try
        {
            (NoiseHandshakePayload Payload, PublicKey Key) remote;
            if (initiator)
            {
                await WriteMessageAsync(insecure, handshake, ReadOnlyMemory<byte>.Empty, timeout.Token).ConfigureAwait(false);
                remote = Authenticate(handshake, handshake.ReadMessage(await ReadMessageAsync(insecure, timeout.Token).ConfigureAwait(false)));
                // The dialer checks whom it reached before it reveals itself in message 3.
                var remotePeer = PeerId.FromPublicKey(remote.Key);
                if (expectedRemote is { } expected && expected != remotePeer)
                    throw new PeerIdMismatchException(expected, remotePeer);
                await WriteMessageAsync(insecure, handshake, _payload, timeout.Token).ConfigureAwait(false);
            }
            else
            {
                handshake.ReadMessage(await ReadMessageAsync(insecure, timeout.Token).ConfigureAwait(false));
                await WriteMessageAsync(insecure, handshake, _payload, timeout.Token).ConfigureAwait(false);
                remote = Authenticate(handshake, handshake.ReadMessage(await ReadMessageAsync(insecure, timeout.Token).ConfigureAwait(false)));
            }
            string? muxer = AgreeMuxer(initiator, remote.Payload.StreamMuxers);
            var (send, receive) = handshake.Split();
            var channel = new SecuredChannel(new NoiseStream(insecure, send, receive), PeerId.FromPublicKey(remote.Key), remote.Key, Id, muxer);
            success = true;
            return channel;
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            throw new P2pProtocolException($"The Noise handshake did not finish within {_options.HandshakeTimeout.TotalSeconds:0.###} s.", new TimeoutException(ex.Message, ex));
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
        {
            throw new P2pProtocolException("The connection failed during the Noise handshake.", ex);
        }
        finally
        {
            handshake.Dispose();
            if (!success)
                await insecure.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task WriteMessageAsync(Stream stream, NoiseHandshakeState handshake, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        int length = handshake.GetWriteLength(payload.Length);
        if (length > NoiseStream.MaxFrameLength)
            throw new InvalidOperationException("A Noise handshake message would exceed 65535 bytes.");
        var frame = new byte[2 + length];
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)length);
        handshake.WriteMessage(payload.Span, frame.AsSpan(2));
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one length-prefixed handshake message (at most 65535 bytes by construction).</summary>
    private static async Task<byte[]> ReadMessageAsync(Stream stream, CancellationToken cancellationToken)
    {
        var prefix = new byte[2];
        await ReadExactlyAsync(stream, prefix, cancellationToken).ConfigureAwait(false);
        int length = BinaryPrimitives.ReadUInt16BigEndian(prefix);
        if (length < NoiseHandshakeState.DhLength)
            throw new P2pProtocolException($"A Noise handshake message of {length} bytes is too short.");
        var message = new byte[length];
        await ReadExactlyAsync(stream, message, cancellationToken).ConfigureAwait(false);
        return message;
    }

    private static async Task ReadExactlyAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            int read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
                throw new P2pProtocolException("The connection closed during the Noise handshake.");
            buffer = buffer[read..];
        }
    }

    /// <summary>Decodes the remote's payload and checks that its identity key signed the static key it used.</summary>
    private static (NoiseHandshakePayload Payload, PublicKey Key) Authenticate(NoiseHandshakeState handshake, byte[] payloadBytes)
    {
        var payload = NoiseHandshakePayload.Decode(payloadBytes);
        try
        {
            var key = PublicKey.FromProtobuf(payload.IdentityKey);
            if (!key.Verify(NoiseHandshakePayload.SignedData(handshake.RemoteStaticKey), payload.IdentitySignature))
                throw new P2pProtocolException("The remote's identity key did not sign its Noise static key.");
            return (payload, key);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new P2pProtocolException("The remote's identity key cannot be used.", ex);
        }
    }

    /// <summary>
    /// Early muxer negotiation (libp2p spec "inlined muxer negotiation"): the first of the initiator's muxers
    /// that the responder supports. Null when either side offered none; no common muxer fails the handshake.
    /// </summary>
    private string? AgreeMuxer(bool initiator, IReadOnlyList<string>? remote)
    {
        if (_offeredMuxers.Length == 0 || remote is null)
            return null;
        IEnumerable<string> preferred = initiator ? _offeredMuxers : remote;
        IReadOnlyList<string> supported = initiator ? remote : _offeredMuxers;
        foreach (string muxer in preferred)
        {
            if (supported.Contains(muxer))
                return muxer;
        }
        throw new P2pProtocolException($"Early muxer negotiation found no common muxer (local: {string.Join(", ", _offeredMuxers)}; remote: {string.Join(", ", remote)}).");
    }

    public void Dispose() => _staticKey.Dispose();
}
