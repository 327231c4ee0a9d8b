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

    /// <summary>
    /// Saves the identity (certificate and private key) as PKCS#12, optionally password-protected. On Unix the
    /// file is readable and writable by its owner only.
    /// </summary>
    public void Save(string path, string? password = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = Certificate.Export(X509ContentType.Pkcs12, password);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(path, options))
            file.Write(bytes);
        // UnixCreateMode applies only to a new file; an overwritten one keeps its mode unless set.
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>Loads an identity saved by <see cref="Save"/>.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is corrupt or the password is wrong.</exception>
    public static NodeIdentity Load(string path, string? password = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"No identity file at '{path}'.", path);
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12(File.ReadAllBytes(path), password,
                X509KeyStorageFlags.EphemeralKeySet | X509KeyStorageFlags.Exportable);
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException($"'{path}' is not a readable identity file (corrupt, or the password is wrong): {ex.Message}", ex);
        }
        try
        {
            return FromCertificate(certificate);
        }
        catch (ArgumentException ex)
        {
            certificate.Dispose();
            throw new InvalidDataException($"'{path}' holds no ECDSA private key: {ex.Message}", ex);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => PeerId.ToString();

    /// <inheritdoc/>
    public void Dispose() => Certificate.Dispose();
}
