using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using QuDag.Network;

namespace QuDag.Benchmarks;

/// <summary>
/// Group 2: a cold connect (TCP + multistream-select + Noise + yamux, then close) and a reuse from the idle pool,
/// against a bare TcpClient + SslStream with TLS 1.3 mutual auth (the floor: no libp2p above it) and the naive way (bare certificates, default
/// validation). Each cold operation also closes what it opened, as the baselines do.
/// </summary>
[MemoryDiagnoser]
public class ConnectBenchmarks
{
    private ConnectionManager _server = null!;
    private ConnectionManager _client = null!;
    private PeerId _serverId;
    private System.Net.IPEndPoint _serverEndPoint = null!;
    private NodeIdentity _bareServer = null!;
    private NodeIdentity _bareClient = null!;
    private BareTlsServer _bare = null!;

    [GlobalSetup]
    public void Setup()
    {
        _server = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 10_000 });
        _serverEndPoint = _server.ListenAsync(new(System.Net.IPAddress.Loopback, 0)).Result.LocalEndPoint;
        _serverId = _server.LocalPeerId;
        _client = new ConnectionManager(10_000);
        _bareServer = NodeIdentity.Create();
        _bareClient = NodeIdentity.Create();
        _bare = new BareTlsServer(_bareServer, BareTlsServer.DrainAsync);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.DisposeAsync().AsTask().Wait();
        _server.DisposeAsync().AsTask().Wait();
        _bare.DisposeAsync().AsTask().Wait();
    }

    [Benchmark(Baseline = true, Description = "bare TcpClient + SslStream (same TLS settings)")]
    public async Task BareTls()
    {
        await using var ssl = await BareTlsServer.ConnectAsync(_bare.EndPoint, TlsSettings.Client(_bareClient));
    }

    [Benchmark(Description = "naive: bare certificates, default validation")]
    public async Task NaiveTls()
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "qudag",
            EnabledSslProtocols = SslProtocols.Tls13,
            ClientCertificates = new X509CertificateCollection { TlsSettings.CertificateOf(_bareClient) },
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null,
        };
        await using var ssl = await BareTlsServer.ConnectAsync(_bare.EndPoint, options);
    }

    [Benchmark(Description = "ConnectAsync cold (+ close)")]
    public async Task ConnectCold()
    {
        await _client.ConnectAsync(_serverId, _serverEndPoint);
        await _client.DisconnectAsync(_serverId, close: true);
    }

    [Benchmark(Description = "ConnectAsync from the idle pool (+ release)")]
    public async Task ConnectPooled()
    {
        await _client.ConnectAsync(_serverId, _serverEndPoint); // first call dials; every later one reuses
        await _client.DisconnectAsync(_serverId);
    }
}
