using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using QuDag.Benchmarks.Libp2p;

// dotnet run -c Release --project tests/QuDag.Benchmarks.Libp2p -- <mode> (RESULTS.md in tests/QuDag.Benchmarks has the figures)
//   js-compare [--quick] [--rounds N] [--setup N] [--pings N] [--bulk-mib N] [--idle N[,N...]]
//              [--only setup,ping,bulk,idle,floors,manager,messages]
//                       js-libp2p side by side with our stack, every end its own process (needs npm ci --prefix tests/interop),
//                       with the floors (crypto, bare TCP connect, ping-pong and bulk), the manager's and Test-QuDagPeer's ping
//                       beside the stack's (in one process and across two), 64 B messages against the naive secure way, and
//                       idle memory at 1,000 and 10,000 connections
//   yamux-streams [streams] [bytes]   1,000 concurrent streams x 4 KiB over one yamux session: time, peak managed and RSS
// Profiling the misses (tests/QuDag.Benchmarks/profiling/README.md):
//   idle-heap [n] [dir]    heap dumps of our dialer and listener agents before/after n idle connections, diffed by type
//   heap-diff <before.dmp> <after.dmp> <n>   the diff alone
//   loop <ping|bare-ping|bulk-send|bulk-fetch|setup> <seconds> [js|ours] [noise|tls]   one workload against a listener agent
//                          in a child process, looped; waits at QUDAG_PROFILE_GATE (profile.sh, perf.sh, perf-ends.sh,
//                          syscalls.sh, instructions.sh); QUDAG_LOOP_SIZE and QUDAG_LOOP_RUNS fix its size
//   messages-loop <seconds>  the stack's 64 B messages benchmark in a loop, behind the same gate
//   trace-top <file.nettrace> [N]   top frames of a dotnet-trace file, waits set apart
//   trace-jit <file.nettrace> [N]  what the JIT compiled during a trace taken with TRACE_EXTRA="--clrevents jit ..."
//   gossip [--nodes 20] [--messages 100] [--heartbeat-ms 200] [--throughput N] [--memory-peers N] [--only latency,throughput,memory]
//                       gossipsub: delivery latency across a js mesh (ours vs a js node publishing), msg/s, memory per topic peer
//   agent noise|tls     (internal) our side of js-compare, driven by JSON lines
//   anything else       BenchmarkDotNet: --filter '*' --job Dry|Short, e.g. --filter '*Floor*' or '*Yamux*'
return args switch
{
    ["js-compare", .. var rest] => await JsCompare.RunAsync(rest),
    ["idle-heap", .. var rest] => await IdleHeap.RunAsync(rest.Length > 0 ? int.Parse(rest[0]) : 1000, rest.Length > 1 ? rest[1] : Path.Combine(Path.GetTempPath(), "qudag-idle-heap")),
    ["heap-diff", var before, var after, var n] => HeapDiff.Run(before, after, int.Parse(n)),
    ["trace-top", var file, .. var rest] => QuDag.Benchmarks.TraceTop.Run(file, rest.Length > 0 ? int.Parse(rest[0]) : 25),
    ["trace-jit", var file, .. var rest] => QuDag.Benchmarks.TraceJit.Run(file, rest.Length > 0 ? int.Parse(rest[0]) : 15),
    ["loop", var what, var seconds, .. var rest] => await Loop.RunAsync(what, double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture), rest),
    ["messages-loop", var seconds] => await MessagesLoopAsync(double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture)),
    ["agent", var security] => await OurAgent.RunAsync(security),
    ["gossip", .. var rest] => await GossipBenchmark.RunAsync(rest),
    ["yamux-streams", .. var rest] => await YamuxStreams.RunAsync(rest.Length > 0 ? int.Parse(rest[0]) : 1000, rest.Length > 1 ? int.Parse(rest[1]) : 4096),
    _ => Run(args),
};

static int Run(string[] args)
{
    var summaries = BenchmarkSwitcher.FromAssembly(typeof(JsCompare).Assembly)
        .Run(args, DefaultConfig.Instance.WithOptions(ConfigOptions.JoinSummary));
    return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
}

// The 64 B messages of StackMessageBenchmarks, looped behind the profiler gate (profiling/profile.sh, perf.sh).
static async Task<int> MessagesLoopAsync(double seconds)
{
    var bench = new StackMessageBenchmarks();
    bench.Setup();
    try
    {
        for (int i = 0; i < 50; i++)
            await bench.Stack64B();
        Console.WriteLine($"GATE {Environment.ProcessId}");
        if (Environment.GetEnvironmentVariable("QUDAG_PROFILE_GATE") is { Length: > 0 } gate)
            while (!File.Exists(gate))
                await Task.Delay(100);
        var cpu0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        long batches = 0;
        while (System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds < seconds)
        {
            await bench.Stack64B();
            batches++;
        }
        double elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
        double cpu = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        Console.WriteLine($"messages-loop: {batches * 10_000 / elapsed / 1e6:0.00} M msg/s, CPU {cpu * 1e9 / (batches * 10_000):0} ns per message (both ends), load average {JsCompare.LoadAverage()}");
    }
    finally
    {
        bench.Cleanup();
    }
    return 0;
}
