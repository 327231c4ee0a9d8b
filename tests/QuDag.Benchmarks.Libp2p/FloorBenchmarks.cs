using BenchmarkDotNet.Attributes;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>The crypto floors alone (the bare TCP floors are cross-process, in js-compare).</summary>
[MemoryDiagnoser]
public class FloorBenchmarks
{
    private CryptoFloors _floors = null!;

    [GlobalSetup]
    public void Setup() => _floors = new CryptoFloors();

    [GlobalCleanup]
    public void Cleanup() => _floors.Dispose();

    [Benchmark(Description = "Noise XX handshake crypto, both sides (3 DH + sign + verify + hashing each)")]
    public byte NoiseXxHandshakeCrypto() => _floors.NoiseXxHandshake();

    [Benchmark(Description = "ChaCha20-Poly1305 seal + open, 64 KiB")]
    public byte SealOpen64K() => _floors.SealOpen64K();
}
