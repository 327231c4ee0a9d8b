using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using QuDag.Benchmarks;

// dotnet run -c Release --project tests/QuDag.Benchmarks -- [BenchmarkDotNet args, e.g. --filter '*Status*' or --job Dry]
//   latency [count]            ping round-trip percentiles, PingAsync vs bare SslStream, in one run
//   scopes [rounds] [pings] [messages]  ping and 64 B message throughput with the resource scopes on vs off, alternating
//                              round by round in one run (issue 18's cost; target under 5 % apart)
//   scale <connections> [both|qudag|bare|one-process]
//                              managed and RSS bytes per connection end (and where the RSS lies: smaps, mallinfo2),
//                              remote ends in peer processes; each way in a fresh process unless one-process
//   cmdlets <peers> [remote|inproc] [both|cmdlet|script] [rounds] [throttle]
//                              Connect-QuDagPeer pipeline vs a serial foreach of Connect-QuDagPeer; peer nodes in
//                              child processes (remote, the default) or in this process (inproc, the first harness)
//   cmdlet-cost [calls] [rounds] [way]  Test-QuDagPeer's own cost per call (wall, CPU, bytes, work items) beside an empty
//                              pipeline and the manager's PingAsync, alternating, the peer in a child process
//   dht [nodes] [lookups] [tables] [paths]  managed bytes per routing-table entry (<tables> tables of 2,000 random peers), then
//                              FindPeer in <nodes> js kad nodes (one kad.mjs process) beside js's own findPeer, same
//                              targets, interleaved, ours over [paths] disjoint paths (needs npm ci --prefix
//                              tests/interop); default 100 20 50 and KadOptions' DisjointPaths
//   crawl <nodes> [processes] [degree]  Invoke-QuDagCrawl's core against <nodes> js kad-dht nodes (a tenth clients) in
//                              [processes] Node processes (default 1), and js's own getClosestPeers discovery in the
//                              same run: time, peers/s, coverage, bytes per crawled peer and per routing-table entry
//   peers <count> [quiet] | bare-peer | tcp-peer  (internal) the remote ends for 'scale', 'cmdlets' and 'expire'
// Diagnostic modes for the missed targets (RESULTS.md, "Profile" subsections; profile.sh wraps them in dotnet-trace):
//   loop <what> <seconds> [arg]   one benchmark's work in a loop: messages|messages-bare-batched|messages-bare-single
//                                 [payload], status|status-bare [threads], connect|connect-bare
//   connect-split <count>         a cold connect's open and close halves, against bare TLS with and without HELLO
//   expire <count> [both|qudag|session|bare]  closing <count> idle connections at once, with CPU time of both ends:
//                                 pool expiry, bare Noise + yamux sessions disposed, and the floor, bare TCP sockets;
//                                 each way in a fresh process ('both' runs the three)
//   status-layout <seconds>       GetStatusAsync against lookups through packed and spread boxes, 1 and 2 threads
//   heap <count> [qudag|bare|bare-noresume|both] [dir]  heap dumps before/after <count> idle connections, diffed with ClrMD
//   heap-diff <before.dmp> <after.dmp> <count>  the dump analysis alone, on kept dumps
//   trace-top <file.nettrace> [N] top frames of a dotnet-trace sample-profiler trace, waits set apart
//   trace-events <file.nettrace> [N] [depth]  who raised the thread-pool enqueues, allocations and exceptions of a trace
//                                 taken with TRACE_PROFILE=events (profile.sh), grouped by stack
//   trace-alloc <file.nettrace> [N]  the top types and allocation sites (ours, else the engine's) of a trace taken
//                                 with TRACE_EXTRA="--clrevents gc+stack --clreventlevel verbose"
//   trace-jit <file.nettrace> [N] what the JIT compiled during a trace taken with TRACE_EXTRA="--clrevents jit ..."
return args switch
{
    ["loop", var what, var seconds, .. var rest] => await Profiling.LoopAsync(what, double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture),
        rest.Length > 0 ? rest[0] : null),
    ["connect-split", var n] => await Profiling.ConnectSplitAsync(int.Parse(n)),
    ["expire", var n, .. var rest] => await Expire.RunAsync(int.Parse(n), rest.Length > 0 ? rest[0] : "both"),
    ["status-layout", var seconds] => Profiling.StatusLayout(double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture)),
    ["heap", var n, .. var rest] => await HeapProfile.RunAsync(int.Parse(n), rest.Length > 0 ? rest[0] : "both",
        rest.Length > 1 ? rest[1] : Path.Combine(Path.GetTempPath(), "qudag-heap")),
    ["heap-diff", var before, var after, var n] => HeapProfile.Diff(before, after, int.Parse(n)),
    ["trace-top", var file, .. var rest] => TraceTop.Run(file, rest.Length > 0 ? int.Parse(rest[0]) : 25),
    ["trace-events", var file, .. var rest] => TraceEvents.Run(file, rest.Length > 0 ? int.Parse(rest[0]) : 25, rest.Length > 1 ? int.Parse(rest[1]) : 6),
    ["trace-alloc", var file, .. var rest] => TraceAlloc.Run(file, rest.Length > 0 ? int.Parse(rest[0]) : 25),
    ["trace-jit", var file, .. var rest] => TraceJit.Run(file, rest.Length > 0 ? int.Parse(rest[0]) : 15),
    ["dht", .. var rest] => await Dht.RunAsync(rest.Length > 0 ? int.Parse(rest[0]) : 100, rest.Length > 1 ? int.Parse(rest[1]) : 20,
        rest.Length > 2 ? int.Parse(rest[2]) : 50, rest.Length > 3 ? int.Parse(rest[3]) : null),
    ["crawl", var n, .. var rest] => await CrawlBench.RunAsync(int.Parse(n), rest.Length > 0 ? int.Parse(rest[0]) : 1, rest.Length > 1 ? int.Parse(rest[1]) : 3),
    ["latency", .. var rest] => await Latency.RunAsync(rest.Length > 0 ? int.Parse(rest[0]) : 20_000),
    ["scopes", .. var rest] => await Scopes.RunAsync(rest.Length > 0 ? int.Parse(rest[0]) : 10, rest.Length > 1 ? int.Parse(rest[1]) : 5_000,
        rest.Length > 2 ? int.Parse(rest[2]) : 50_000),
    ["scale", var n, .. var rest] => await Scale.RunAsync(int.Parse(n), rest.Length > 0 ? rest[0] : "both"),
    ["peers", var n] => await Scale.ServePeersAsync(int.Parse(n)),
    ["peers", var n, "quiet"] => await Scale.ServePeersAsync(int.Parse(n), quiet: true),
    ["bare-peer"] => await Scale.ServeBareAsync(),
    ["tcp-peer"] => await Expire.ServeTcpPeerAsync(),
    ["bare-peer", "noresume"] => await Scale.ServeBareAsync(resume: false),
    ["cmdlets", var n, .. var rest] => CmdletPipeline.Run(int.Parse(n), rest.Length > 0 ? rest[0] : "remote", rest.Length > 1 ? rest[1] : "both",
        rest.Length > 2 ? int.Parse(rest[2]) : 1, rest.Length > 3 ? int.Parse(rest[3]) : 64),
    ["cmdlet-cost", .. var rest] => CmdletCost.Run(rest.Length > 0 ? int.Parse(rest[0]) : 2_000, rest.Length > 1 ? int.Parse(rest[1]) : 5,
        rest.Length > 2 ? rest[2] : null),
    _ => Run(args),
};

static int Run(string[] args)
{
    var summaries = BenchmarkSwitcher.FromAssembly(typeof(StatusBenchmarks).Assembly)
        .Run(args, DefaultConfig.Instance.WithOptions(ConfigOptions.JoinSummary));
    return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
}
