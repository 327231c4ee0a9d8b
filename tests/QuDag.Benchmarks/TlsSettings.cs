using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using QuDag.P2p.Identity;

namespace QuDag.Benchmarks;

/// <summary>
/// The bare-TLS floor of the benchmarks: TLS 1.3, mutual authentication, one self-signed ECDSA P-256 certificate
/// per identity with a prepared context, and no libp2p on top (no multistream, no signed-key extension check, no
/// muxer). What the manager's libp2p connections cost is measured against this.
/// </summary>
internal static class TlsSettings
{
    private static readonly ConditionalWeakTable<NodeIdentity, X509Certificate2> Certificates = new();

    /// <summary>A self-signed certificate for <paramref name="identity"/>, made once per identity.</summary>
    public static X509Certificate2 CertificateOf(NodeIdentity identity) => Certificates.GetValue(identity, static id =>
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={id.PeerId}", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddYears(1));
        // Re-imported so that SslStream on Linux gets a key it can use (an ephemeral key is not exportable to OpenSSL).
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    });

    public static SslServerAuthenticationOptions Server(NodeIdentity identity) => new()
    {
        ServerCertificateContext = SslStreamCertificateContext.Create(CertificateOf(identity), null, offline: true),
        EnabledSslProtocols = SslProtocols.Tls13,
        ClientCertificateRequired = true,
        RemoteCertificateValidationCallback = static (_, certificate, _, _) => certificate is not null,
    };

    public static SslClientAuthenticationOptions Client(NodeIdentity identity) => new()
    {
        TargetHost = "qudag",
        EnabledSslProtocols = SslProtocols.Tls13,
        ClientCertificateContext = SslStreamCertificateContext.Create(CertificateOf(identity), null, offline: true),
        RemoteCertificateValidationCallback = static (_, certificate, _, _) => certificate is not null,
    };
}

/// <summary>Peer ids for status and layout benchmarks: SHA-256 multihashes of a seeded random stream, cheap and repeatable.</summary>
internal static class SyntheticIds
{
    /// <summary>
    /// Ids as QuDAG's rust nodes have them: identity multihashes of Ed25519 keys (38 bytes, "12D3KooW..."),
    /// derived from seeded 32-byte secrets so every run keys the same peers.
    /// </summary>
    public static PeerId[] Create(int count, int seed = 42)
    {
        var ids = new PeerId[count];
        var random = new Random(seed);
        var secret = new byte[32];
        for (var i = 0; i < count; i++)
        {
            random.NextBytes(secret);
            using var identity = QuDag.P2p.Identity.NodeIdentity.FromEd25519Seed(secret);
            ids[i] = identity.PeerId;
        }
        return ids;
    }

    /// <summary>The same ids in arrays of their own, as ids parsed from a script's text or a peer's message are.</summary>
    public static PeerId[] Copies(PeerId[] ids) => Array.ConvertAll(ids, id => PeerId.FromBytes(id.Bytes));
}

/// <summary>One QuDag.PS message as it travels on /qudag-ps/msg/1.0.0: a uvarint length, then the payload.</summary>
internal static class MessageFrame
{
    public static byte[] Create(int payloadSize)
    {
        var frame = new byte[QuDag.P2p.Encoding.Varint.SizeOf((ulong)payloadSize) + payloadSize];
        QuDag.P2p.Encoding.Varint.Write(frame, (ulong)payloadSize);
        return frame;
    }
}
