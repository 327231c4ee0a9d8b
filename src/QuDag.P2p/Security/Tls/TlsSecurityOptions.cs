namespace QuDag.P2p.Security.Tls;

/// <summary>Options of <see cref="TlsSecurity"/>.</summary>
public sealed class TlsSecurityOptions
{
    /// <summary>The whole TLS handshake must finish within this time. Default 10 s; infinite when a caller bounds it (the host's upgrader).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The stream muxers this node supports, most preferred first, put before "libp2p" in the ALPN list when
    /// <see cref="NegotiateEarlyMuxer"/> is on (libp2p "inlined muxer negotiation").
    /// </summary>
    public IReadOnlyList<string> StreamMuxers { get; init; } = ["/yamux/1.0.0"];

    /// <summary>Offer <see cref="StreamMuxers"/> through ALPN. Default on.</summary>
    public bool NegotiateEarlyMuxer { get; init; } = true;

    /// <summary>How long each generated certificate is valid; a new one is made a day before it expires. Default 365 days.</summary>
    public TimeSpan CertificateLifetime { get; init; } = TimeSpan.FromDays(365);

    /// <summary>The clock for certificate validity and the handshake timeout (tests move it).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
