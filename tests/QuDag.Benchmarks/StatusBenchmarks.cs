using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using QuDag.Network;

namespace QuDag.Benchmarks;

/// <summary>
/// Group 1: status tracking with 10,000 tracked peers, against a bare ConcurrentDictionary lookup (the limit)
/// and the original QuDAG algorithm written plainly (write lock, then recount every connection).
/// </summary>
[MemoryDiagnoser]
public class StatusBenchmarks
{
    private const int Peers = 10_000;
    private const int Ops = 1 << 20;
    private const int OriginalOps = 1 << 10;
    private ConnectionManager _manager = null!;
    private PeerId[] _ids = null!;
    private PeerId[] _copies = null!;
    private ConcurrentDictionary<PeerId, int> _dictionary = null!;
    private OriginalQuDag _original = null!;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _manager = new ConnectionManager(100);
        _ids = new PeerId[Peers];
        _dictionary = new ConcurrentDictionary<PeerId, int>();
        _original = new OriginalQuDag();
        var synthetic = SyntheticIds.Create(Peers);
        for (var i = 0; i < Peers; i++)
        {
            _ids[i] = synthetic[i];
            _manager.UpdateStatusAsync(_ids[i], ConnectionStatus.Connected).GetAwaiter().GetResult();
            _dictionary[_ids[i]] = (int)ConnectionStatus.Connected;
            _original.UpdateStatus(_ids[i], ConnectionStatus.Connected);
        }
        _copies = SyntheticIds.Copies(_ids);
    }

    [GlobalCleanup]
    public void Cleanup() => _manager.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, OperationsPerInvoke = Ops, Description = "bare ConcurrentDictionary lookup")]
    public int BareLookup() => Partition(Ops, (from, to) =>
    {
        var hits = 0;
        for (var i = from; i < to; i++)
            hits += _dictionary.TryGetValue(_ids[i % Peers], out var s) ? s : 0;
        return hits;
    });

    [Benchmark(OperationsPerInvoke = Ops)]
    public int GetStatusAsync() => Partition(Ops, (from, to) =>
    {
        var sum = 0;
        for (var i = from; i < to; i++)
            sum += (int)(_manager.GetStatusAsync(_ids[i % Peers]).Result ?? 0);
        return sum;
    });

    // The same lookups keyed by ids in arrays of their own (an id parsed from text): the key's 38 bytes are
    // compared, where the lookups above, keyed by the very ids the table holds, stop at the reference.
    [Benchmark(OperationsPerInvoke = Ops, Description = "bare lookup, id copies")]
    public int BareLookupCopies() => Partition(Ops, (from, to) =>
    {
        var hits = 0;
        for (var i = from; i < to; i++)
            hits += _dictionary.TryGetValue(_copies[i % Peers], out var s) ? s : 0;
        return hits;
    });

    [Benchmark(OperationsPerInvoke = Ops, Description = "GetStatusAsync, id copies")]
    public int GetStatusAsyncCopies() => Partition(Ops, (from, to) =>
    {
        var sum = 0;
        for (var i = from; i < to; i++)
            sum += (int)(_manager.GetStatusAsync(_copies[i % Peers]).Result ?? 0);
        return sum;
    });

    [Benchmark(OperationsPerInvoke = Ops)]
    public int UpdateStatusAsync() => Partition(Ops, (from, to) =>
    {
        for (var i = from; i < to; i++)
            _manager.UpdateStatusAsync(_ids[i % Peers], (ConnectionStatus)(i & 3)).GetAwaiter().GetResult();
        return to - from;
    });

    [Benchmark(OperationsPerInvoke = OriginalOps, Description = "QuDAG original update_status")]
    public int OriginalUpdateStatus() => Partition(OriginalOps, (from, to) =>
    {
        for (var i = from; i < to; i++)
            _original.UpdateStatus(_ids[i % Peers], (ConnectionStatus)(i & 3));
        return to - from;
    });

    [Benchmark(OperationsPerInvoke = 1024)]
    public long GetMetricsAsync()
    {
        long sum = 0;
        for (var i = 0; i < 1024; i++)
            sum += _manager.GetMetricsAsync().Result.TrackedPeers;
        return sum;
    }

    /// <summary>Runs [0, ops) split over <see cref="Threads"/> threads; one delegate call per thread, not per op.</summary>
    private int Partition(int ops, Func<int, int, int> body)
    {
        if (Threads == 1)
            return body(0, ops);
        var half = ops / 2;
        var other = Task.Run(() => body(half, ops));
        return body(0, half) + other.GetAwaiter().GetResult();
    }

    /// <summary>
    /// The seed's algorithm, plainly: every update takes the write lock and recounts all connected peers
    /// to refresh the metrics, as QuDAG's Rust ConnectionManager does.
    /// </summary>
    private sealed class OriginalQuDag
    {
        private readonly Dictionary<PeerId, ConnectionStatus> _connections = [];
        private readonly ReaderWriterLockSlim _lock = new();
        private int _connected;

        public void UpdateStatus(PeerId peer, ConnectionStatus status)
        {
            _lock.EnterWriteLock();
            try
            {
                _connections[peer] = status;
                _connected = _connections.Values.Count(s => s == ConnectionStatus.Connected);
            }
            finally
            {
                _lock.ExitWriteLock();
            }
        }
    }
}
