using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace QuDag.Network;

/// <summary>The TLS 1.3 settings both ends use: mutual authentication by self-signed certificates pinned by key.</summary>
internal static class TlsSettings
{
    public static readonly SslApplicationProtocol Alpn = new("qudag/1");
    private static readonly List<SslApplicationProtocol> AlpnList = [Alpn];

    // Self-signed certificates never chain to a trusted root; identity comes from the key (PeerId),
    // so chain and name errors are expected. What must hold is that a certificate is there.
    private static readonly RemoteCertificateValidationCallback RequireCertificate =
        static (_, certificate, _, _) => certificate is not null;

    // A custom-root policy with no downloads and no revocation: building the chain then stays local and cheap.
    private static X509ChainPolicy OfflinePolicy() => new()
    {
        TrustMode = X509ChainTrustMode.CustomRootTrust,
        RevocationMode = X509RevocationMode.NoCheck,
        DisableCertificateDownloads = true,
    };

    public static SslClientAuthenticationOptions Client(NodeIdentity identity) => new()
    {
        TargetHost = "qudag",
        EnabledSslProtocols = SslProtocols.Tls13,
        ClientCertificateContext = identity.CertificateContext,
        RemoteCertificateValidationCallback = RequireCertificate,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        CertificateChainPolicy = OfflinePolicy(),
        ApplicationProtocols = AlpnList,
    };

    /// <param name="identity">This node.</param>
    /// <param name="admit">Decides on the client's peer id in the handshake (the connection gater); null admits all.</param>
    public static SslServerAuthenticationOptions Server(NodeIdentity identity, Func<PeerId, bool>? admit = null) => new()
    {
        EnabledSslProtocols = SslProtocols.Tls13,
        ServerCertificateContext = identity.CertificateContext,
        ClientCertificateRequired = true,
        // ClientCertificateRequired enforces nothing by itself: this callback rejects a missing certificate,
        // and a peer the gater refuses, before the handshake completes.
        RemoteCertificateValidationCallback = admit is null
            ? RequireCertificate
            : (_, certificate, _, _) => certificate is not null && admit(SubjectPublicKeyInfo.PeerIdOf(certificate)),
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        CertificateChainPolicy = OfflinePolicy(),
        ApplicationProtocols = AlpnList,
    };
}
