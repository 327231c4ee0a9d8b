using System.Net.Security;
using BenchmarkDotNet.Attributes;
using QuDag.Network;

namespace QuDag.Benchmarks;

/// <summary>
/// Group 3: messages over one connection (/qudag-ps/msg/1.0.0 over yamux and Noise), sent and fully received,
/// against a bare SslStream writing the same length-prefixed messages in 64 KiB batches (the ceiling) and one write per frame (the naive way).
/// </summary>
[MemoryDiagnoser]
public class MessageBenchmarks
{
    private const int Messages = 16_384;
    private ConnectionManager _server = null!;
    private ConnectionManager _client = null!;
    private PeerId _serverId;
    private byte[] _payload = null!;
    private byte[] _frame = null!;
    private byte[] _batch = null!;
    private NodeIdentity _bareServerIdentity = null!;
    private NodeIdentity _bareClientIdentity = null!;
    private BareTlsServer _bare = null!;
    private SslStream _bareClient = null!;
    private long _bareExpected;
    private long _bareReceived;
    private TaskCompletionSource _bareDone = new();
    private Task _drain = null!;
    private int _received;
    private int _expected;
    private TaskCompletionSource _managerDone = new();

    [Params(64, 4096)]
    public int PayloadSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _payload = new byte[PayloadSize];
        _frame = MessageFrame.Create(PayloadSize);
        // As many whole frames as fit in 64 KiB.
        var perBatch = Math.Max(1, 64 * 1024 / _frame.Length);
        _batch = new byte[perBatch * _frame.Length];
        for (var i = 0; i < perBatch; i++)
            _frame.CopyTo(_batch, i * _frame.Length);

        _server = new ConnectionManager(10);
        var endPoint = _server.ListenAsync(new(System.Net.IPAddress.Loopback, 0)).Result.LocalEndPoint;
        _serverId = _server.LocalPeerId;
        _client = new ConnectionManager(10);
        _client.ConnectAsync(_serverId, endPoint).Wait();
        _drain = Task.Run(async () =>
        {
            await foreach (var _ in _server.ReceiveAllAsync())
            {
                if (Interlocked.Increment(ref _received) == Volatile.Read(ref _expected))
                    _managerDone.TrySetResult();
            }
        });

        _bareServerIdentity = NodeIdentity.Create();
        _bareClientIdentity = NodeIdentity.Create();
        _bare = new BareTlsServer(_bareServerIdentity, async (ssl, ct) =>
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await ssl.ReadAsync(buffer, ct)) > 0)
            {
                if (Interlocked.Add(ref _bareReceived, read) == Volatile.Read(ref _bareExpected))
                    _bareDone.TrySetResult();
            }
        });
        _bareClient = BareTlsServer.ConnectAsync(_bare.EndPoint, TlsSettings.Client(_bareClientIdentity)).Result;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bareClient.Dispose();
        _client.DisposeAsync().AsTask().Wait();
        _server.DisposeAsync().AsTask().Wait();
        _bare.DisposeAsync().AsTask().Wait();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages, Description = "bare SslStream, 64 KiB batches")]
    public async Task BareBatched()
    {
        var wait = ExpectBare();
        long total = (long)Messages * _frame.Length;
        for (long sent = 0; sent < total; sent += _batch.Length)
            await _bareClient.WriteAsync(_batch.AsMemory(0, (int)Math.Min(_batch.Length, total - sent)));
        await wait;
    }

    [Benchmark(OperationsPerInvoke = Messages, Description = "bare SslStream, one write per message")]
    public async Task BarePerMessage()
    {
        var wait = ExpectBare();
        for (var i = 0; i < Messages; i++)
            await _bareClient.WriteAsync(_frame);
        await wait;
    }

    [Benchmark(OperationsPerInvoke = Messages, Description = "SendAsync + ReceiveAsync")]
    public async Task ManagerSendReceive()
    {
        _managerDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _expected, Volatile.Read(ref _received) + Messages);
        for (var i = 0; i < Messages; i++)
            await _client.SendAsync(_serverId, _payload);
        await _managerDone.Task;
    }

    private Task ExpectBare()
    {
        _bareDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _bareExpected, Volatile.Read(ref _bareReceived) + (long)Messages * _frame.Length);
        return _bareDone.Task;
    }
}
