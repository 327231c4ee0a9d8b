using QuDag.P2p.Identity;

namespace QuDag.P2p.Security;

/// <summary>
/// A libp2p security protocol (<c>/noise</c>, <c>/tls/1.0.0</c>): turns a raw duplex byte stream into an
/// encrypted, authenticated one and tells who is on the other end. Built for one local identity.
/// </summary>
public interface ISecurityTransport
{
    /// <summary>The multistream-select protocol id, such as "/noise".</summary>
    string ProtocolId { get; }

    /// <summary>
    /// Runs the handshake as the dialer. When <paramref name="expectedRemote"/> is set and the remote proves a
    /// different identity, throws <see cref="PeerIdMismatchException"/> and the channel is not returned.
    /// </summary>
    Task<SecuredChannel> SecureOutboundAsync(Stream insecure, PeerId? expectedRemote, CancellationToken cancellationToken);

    /// <summary>Runs the handshake as the listener.</summary>
    Task<SecuredChannel> SecureInboundAsync(Stream insecure, CancellationToken cancellationToken);
}

/// <summary>The result of a handshake: the encrypted stream and the remote's proven identity.</summary>
/// <param name="Stream">Reads and writes plaintext; disposing it closes the underlying stream.</param>
/// <param name="RemotePeer">The remote's peer id, derived from the key it proved it holds.</param>
/// <param name="RemoteKey">The remote's public key.</param>
/// <param name="Protocol">The security protocol id ("/noise" or "/tls/1.0.0").</param>
/// <param name="EarlyMuxer">
/// A muxer both sides agreed on inside the handshake (Noise extensions, TLS ALPN), so the upgrader skips
/// the multistream round for it; null when none was agreed.
/// </param>
public sealed record SecuredChannel(Stream Stream, PeerId RemotePeer, PublicKey RemoteKey, string Protocol, string? EarlyMuxer);
