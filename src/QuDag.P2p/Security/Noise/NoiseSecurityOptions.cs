namespace QuDag.P2p.Security.Noise;

/// <summary>Options of <see cref="NoiseSecurity"/>.</summary>
public sealed class NoiseSecurityOptions
{
    /// <summary>
    /// The whole handshake must finish within this time (js-libp2p allows an upgrade 10 s in total), so a
    /// remote that drips a byte at a time cannot hold a connection open. Default 10 s; infinite when a caller bounds
    /// the handshake itself (the host's upgrader does, with one deadline for the whole connection setup).
    /// </summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The stream muxers this node supports, most preferred first, offered in the handshake's extensions
    /// (libp2p "early muxer negotiation") when <see cref="NegotiateEarlyMuxer"/> is on.
    /// </summary>
    public IReadOnlyList<string> StreamMuxers { get; init; } = ["/yamux/1.0.0"];

    /// <summary>
    /// Offer <see cref="StreamMuxers"/> in the handshake. When both sides offer a list, the first muxer of the
    /// initiator's list that the responder supports is agreed and the upgrader skips multistream for it; when
    /// either side offers none, the muxer is negotiated by multistream-select as usual. Default on.
    /// </summary>
    public bool NegotiateEarlyMuxer { get; init; } = true;

    /// <summary>The clock of the handshake timeout (tests move it).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
