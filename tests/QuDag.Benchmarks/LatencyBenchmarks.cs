using System.Net.Security;
using BenchmarkDotNet.Attributes;
using QuDag.Network;

namespace QuDag.Benchmarks;

/// <summary>Group 4: a PingAsync round trip (/ipfs/ping/1.0.0, 32 bytes over yamux and Noise) against a bare async SslStream ping-pong of the same 32 bytes.</summary>
[MemoryDiagnoser]
public class LatencyBenchmarks
{
    private ConnectionManager _server = null!;
    private ConnectionManager _client = null!;
    private PeerId _serverId;
    private BareTlsServer _bare = null!;
    private SslStream _bareClient = null!;
    private readonly byte[] _ping = new byte[QuDag.P2p.Protocols.Ping.PingProtocol.PayloadSize];
    private readonly byte[] _pong = new byte[QuDag.P2p.Protocols.Ping.PingProtocol.PayloadSize];

    [GlobalSetup]
    public void Setup()
    {
        _server = new ConnectionManager(10);
        var endPoint = _server.ListenAsync(new(System.Net.IPAddress.Loopback, 0)).Result.LocalEndPoint;
        _serverId = _server.LocalPeerId;
        _client = new ConnectionManager(10);
        _client.ConnectAsync(_serverId, endPoint).Wait();
        _bare = new BareTlsServer(NodeIdentity.Create(), BareEchoAsync);
        _bareClient = BareTlsServer.ConnectAsync(_bare.EndPoint, TlsSettings.Client(NodeIdentity.Create())).Result;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bareClient.Dispose();
        _client.DisposeAsync().AsTask().Wait();
        _server.DisposeAsync().AsTask().Wait();
        _bare.DisposeAsync().AsTask().Wait();
    }

    internal static async Task BareEchoAsync(SslStream ssl, CancellationToken ct)
    {
        var frame = new byte[QuDag.P2p.Protocols.Ping.PingProtocol.PayloadSize];
        while (true)
        {
            await ssl.ReadExactlyAsync(frame, ct);
            await ssl.WriteAsync(frame, ct);
        }
    }

    [Benchmark(Baseline = true, Description = "bare SslStream ping-pong")]
    public async Task BarePingPong()
    {
        await _bareClient.WriteAsync(_ping);
        await _bareClient.ReadExactlyAsync(_pong);
    }

    [Benchmark(Description = "PingAsync")]
    public Task<TimeSpan> PingAsync() => _client.PingAsync(_serverId);
}
