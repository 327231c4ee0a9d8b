using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace QuDag.Network;

/// <summary>
/// A node's identity: an ECDSA P-256 key and a self-signed certificate over it. Its
/// <see cref="PeerId"/> is the SHA-256 of the public key, so only the key holder can claim it.
/// </summary>
public sealed class NodeIdentity : IDisposable
{
    private NodeIdentity(X509Certificate2 certificate)
    {
        Certificate = certificate;
        PeerId = SubjectPublicKeyInfo.PeerIdOf(certificate);
        // Built once: a handshake with a prepared context costs about half as much (DESIGN.md).
        CertificateContext = SslStreamCertificateContext.Create(certificate, null, offline: true);
    }

    /// <summary>This node's peer id.</summary>
    public PeerId PeerId { get; }

    /// <summary>The certificate presented in every TLS handshake (with its private key).</summary>
    public X509Certificate2 Certificate { get; }

    internal SslStreamCertificateContext CertificateContext { get; }

    /// <summary>Creates a new ephemeral identity.</summary>
    public static NodeIdentity Create()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=qudag", key, HashAlgorithmName.SHA256);
        var now = DateTimeOffset.UtcNow;
        return new NodeIdentity(request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10)));
    }

    /// <summary>Wraps an existing certificate that has an ECDSA private key.</summary>
    public static NodeIdentity FromCertificate(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey || certificate.GetECDsaPublicKey() is null)
            throw new ArgumentException("A node identity needs a certificate with an ECDSA private key.", nameof(certificate));
        return new NodeIdentity(certificate);
    }

    /// <inheritdoc/>
    public override string ToString() => PeerId.ToString();

    /// <inheritdoc/>
    public void Dispose() => Certificate.Dispose();
}
