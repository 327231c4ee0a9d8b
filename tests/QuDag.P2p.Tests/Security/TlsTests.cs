using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Identity;
using QuDag.P2p.Security;
using QuDag.P2p.Security.Tls;
using QuDag.P2p.Tests.Support;

namespace QuDag.P2p.Tests.Security;

/// <summary>What only libp2p TLS has: the certificate and its extension, who may present what, and ALPN.</summary>
public sealed class TlsTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly NodeIdentity _alice = NodeIdentity.Create();
    private readonly NodeIdentity _bob = NodeIdentity.Create();

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
    }

    /// <summary>A self-signed P-256 certificate whose extension the test shapes.</summary>
    private static X509Certificate2 Certificate(Func<ECDsa, byte[]?> extension, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=test", key, HashAlgorithmName.SHA256);
        if (extension(key) is { } value)
            request.CertificateExtensions.Add(new X509Extension(Libp2pCertificate.ExtensionOid, value, critical: true));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(notBefore ?? now.AddHours(-1), notAfter ?? now.AddDays(1));
    }

    private static byte[] Extension(NodeIdentity owner, NodeIdentity signer, ECDsa certificateKey)
        => SignedKey.Encode(owner.PublicKey.ToProtobuf(), signer.Sign(Libp2pCertificate.SignedData(certificateKey.ExportSubjectPublicKeyInfo())));

    [Fact]
    public void Our_certificate_carries_the_extension_first_critical_and_verifiable()
    {
        var now = DateTimeOffset.UtcNow;
        using var certificate = Libp2pCertificate.Create(_alice, now, TimeSpan.FromDays(365));
        var first = Assert.Single(certificate.Extensions);
        Assert.Equal(Libp2pCertificate.ExtensionOid, first.Oid!.Value);
        Assert.True(first.Critical);
        Assert.True(certificate.HasPrivateKey);
        Assert.Equal(now.AddHours(-1).UtcDateTime, certificate.NotBefore.ToUniversalTime(), TimeSpan.FromSeconds(1));
        Assert.Equal(now.AddDays(365).UtcDateTime, certificate.NotAfter.ToUniversalTime(), TimeSpan.FromSeconds(1));
        var (key, _) = SignedKey.Decode(first.RawData);
        Assert.Equal(_alice.PublicKey.ToProtobuf(), key);
        Assert.Equal(_alice.PublicKey, Libp2pCertificate.Verify(certificate.RawData, now));
        // The SPKI signed is exactly the certificate's own.
        Assert.Equal(certificate.PublicKey.ExportSubjectPublicKeyInfo(), Libp2pCertificate.Parse(certificate.RawData).SubjectPublicKeyInfo.ToArray());
    }

    public static TheoryData<string> BadCertificates => ["no extension", "signed by another identity", "signature for another key", "expired", "not yet valid", "broken self-signature"];

    private X509Certificate2 BadCertificate(string kind) => kind switch
    {
        "no extension" => Certificate(_ => null),
        "signed by another identity" => Certificate(key => Extension(_alice, _bob, key)),
        "signature for another key" => Certificate(_ => { using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256); return Extension(_alice, _alice, other); }),
        "expired" => Certificate(key => Extension(_alice, _alice, key), DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(-1)),
        "not yet valid" => Certificate(key => Extension(_alice, _alice, key), DateTimeOffset.UtcNow.AddDays(1), DateTimeOffset.UtcNow.AddDays(2)),
        _ => BreakSignature(Certificate(key => Extension(_alice, _alice, key))),
    };

    private static X509Certificate2 BreakSignature(X509Certificate2 certificate)
    {
        byte[] der = certificate.RawData;
        der[^5] ^= 1; // inside the signature's last INTEGER
        certificate.Dispose();
        return X509CertificateLoader.LoadCertificate(der);
    }

    [Theory]
    [MemberData(nameof(BadCertificates))]
    public void Verification_refuses_a_bad_certificate(string kind)
    {
        using var certificate = BadCertificate(kind);
        Assert.Throws<P2pProtocolException>(() => Libp2pCertificate.Verify(certificate.RawData, DateTimeOffset.UtcNow));
    }

    [Fact]
    public void Verification_accepts_a_well_made_foreign_certificate()
    {
        using var certificate = Certificate(key => Extension(_alice, _alice, key));
        Assert.Equal(_alice.PublicKey, Libp2pCertificate.Verify(certificate.RawData, DateTimeOffset.UtcNow));
    }

    [Theory]
    [InlineData("no extension", true)]
    [InlineData("signed by another identity", true)]
    [InlineData("no extension", false)]
    [InlineData("signed by another identity", false)]
    public async Task A_handshake_with_a_peer_presenting_a_bad_certificate_is_refused(string kind, bool hostileServer)
    {
        using var honest = new TlsSecurity(hostileServer ? _bob : _alice);
        using var hostile = new TlsSecurity(hostileServer ? _alice : _bob, null, (_, _) => BadCertificateWithKey(kind));
        var (left, right) = Duplex.CreatePair();
        var inbound = (hostileServer ? hostile : honest).SecureInboundAsync(right, CancellationToken.None);
        var outbound = (hostileServer ? honest : hostile).SecureOutboundAsync(left, null, CancellationToken.None);
        var honestSide = hostileServer ? outbound : inbound;
        await Assert.ThrowsAsync<P2pProtocolException>(() => honestSide.WaitAsync(Bound));
        // The hostile side fails too, or (a TLS 1.3 client) finds the connection closed.
        try
        {
            var channel = await (hostileServer ? inbound : outbound).WaitAsync(Bound);
            await using (channel.Stream)
                Assert.Equal(0, await channel.Stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Bound));
        }
        catch (Exception ex) when (ex is P2pException or IOException) { }
    }

    private X509Certificate2 BadCertificateWithKey(string kind) => BadCertificate(kind);

    [Fact]
    public async Task A_client_without_a_certificate_is_refused()
    {
        using var server = new TlsSecurity(_bob);
        var (left, right) = Duplex.CreatePair();
        var inbound = server.SecureInboundAsync(right, CancellationToken.None);
        await using var client = new SslStream(left);
        var clientHandshake = client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "",
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [new SslApplicationProtocol("libp2p")],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        var error = await Assert.ThrowsAsync<P2pProtocolException>(() => inbound.WaitAsync(Bound));
        Assert.Contains("no certificate", error.Message);
        try { await clientHandshake.WaitAsync(Bound); } catch (Exception ex) when (ex is AuthenticationException or IOException) { }
    }

    [Fact]
    public async Task A_client_sending_a_chain_of_two_certificates_is_refused()
    {
        using var server = new TlsSecurity(_bob);
        var (left, right) = Duplex.CreatePair();
        var inbound = server.SecureInboundAsync(right, CancellationToken.None);
        // root -> intermediate -> leaf, so the intermediate travels with the leaf (a self-signed root does not).
        var now = DateTimeOffset.UtcNow;
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest("CN=root", rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var root = rootRequest.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));
        var intermediateRequest = new CertificateRequest("CN=intermediate", intermediateKey, HashAlgorithmName.SHA256);
        intermediateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var intermediatePublic = intermediateRequest.Create(root, now.AddHours(-1), now.AddDays(1), [1]);
        using var intermediate = intermediatePublic.CopyWithPrivateKey(intermediateKey);
        var leafRequest = new CertificateRequest("CN=leaf", leafKey, HashAlgorithmName.SHA256);
        leafRequest.CertificateExtensions.Add(new X509Extension(Libp2pCertificate.ExtensionOid, Extension(_alice, _alice, leafKey), critical: true));
        using var leafPublic = leafRequest.Create(intermediate, now.AddHours(-1), now.AddDays(1), [2]);
        using var leaf = leafPublic.CopyWithPrivateKey(leafKey);
        await using var client = new SslStream(left);
        var clientHandshake = client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "",
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [new SslApplicationProtocol("libp2p")],
            ClientCertificateContext = SslStreamCertificateContext.Create(leaf, [intermediate, root], offline: true),
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        var error = await Assert.ThrowsAsync<P2pProtocolException>(() => inbound.WaitAsync(Bound));
        Assert.Contains("more than one", error.Message);
        try { await clientHandshake.WaitAsync(Bound); } catch (Exception ex) when (ex is AuthenticationException or IOException) { }
    }

    public static TheoryData<bool, bool, string?> AlpnCases => new()
    {
        { true, true, "/yamux/1.0.0" },
        { false, true, null },
        { true, false, null },
    };

    [Theory]
    [MemberData(nameof(AlpnCases))]
    public async Task Alpn_agrees_on_the_muxer_when_both_offer_it(bool dialerOffers, bool listenerOffers, string? expected)
    {
        using var dialerTransport = new TlsSecurity(_alice, new TlsSecurityOptions { NegotiateEarlyMuxer = dialerOffers });
        using var listenerTransport = new TlsSecurity(_bob, new TlsSecurityOptions { NegotiateEarlyMuxer = listenerOffers });
        var (left, right) = Duplex.CreatePair();
        var inbound = listenerTransport.SecureInboundAsync(right, CancellationToken.None);
        var dialer = await dialerTransport.SecureOutboundAsync(left, _bob.PeerId, CancellationToken.None).WaitAsync(Bound);
        var listener = await inbound.WaitAsync(Bound);
        await using (dialer.Stream)
        await using (listener.Stream)
        {
            Assert.Equal(expected, dialer.EarlyMuxer);
            Assert.Equal(expected, listener.EarlyMuxer);
        }
    }

    [Fact]
    public async Task The_certificate_is_reused_and_renewed_before_it_expires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var dialerTransport = new TlsSecurity(_alice, new TlsSecurityOptions { TimeProvider = time, CertificateLifetime = TimeSpan.FromDays(7) });
        using var listenerTransport = new TlsSecurity(_bob, new TlsSecurityOptions { TimeProvider = time });

        async Task<byte[]> DialerCertificateSeenByListenerAsync()
        {
            var (left, right) = Duplex.CreatePair();
            var inbound = listenerTransport.SecureInboundAsync(right, CancellationToken.None);
            var dialer = await dialerTransport.SecureOutboundAsync(left, null, CancellationToken.None).WaitAsync(Bound);
            var listener = await inbound.WaitAsync(Bound);
            await using (dialer.Stream)
            await using (listener.Stream)
                return ((TlsChannelStream)listener.Stream).Ssl.RemoteCertificate!.GetRawCertData();
        }

        byte[] first = await DialerCertificateSeenByListenerAsync();
        Assert.Equal(first, await DialerCertificateSeenByListenerAsync());
        time.Advance(TimeSpan.FromDays(6.5));
        byte[] renewed = await DialerCertificateSeenByListenerAsync();
        Assert.NotEqual(first, renewed);
    }

    [Fact]
    public void SignedKey_decoder_rejects_arbitrary_bytes_only_with_the_typed_exception()
    {
        Gen.Byte.Array[0, 300].Sample(bytes => SecurityFuzzEntry.TlsSignedKeyExtension(bytes), iter: 20_000);
        byte[] valid = SignedKey.Encode(_alice.PublicKey.ToProtobuf(), new byte[64]);
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte).Array[1, 4].Sample(edits =>
        {
            var copy = (byte[])valid.Clone();
            foreach (var (index, value) in edits) copy[index] = value;
            SecurityFuzzEntry.TlsSignedKeyExtension(copy);
        }, iter: 20_000);
    }

    [Fact]
    public void Certificate_parser_rejects_mutated_certificates_only_with_the_typed_exception()
    {
        using var certificate = Libp2pCertificate.Create(_alice, DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
        byte[] valid = certificate.RawData;
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte).Array[1, 3].Sample(edits =>
        {
            var copy = (byte[])valid.Clone();
            foreach (var (index, value) in edits) copy[index] = value;
            try { Libp2pCertificate.Verify(copy, DateTimeOffset.UtcNow); }
            catch (P2pProtocolException) { }
        }, iter: 3_000);
    }
}
