using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using QuDag.Benchmarks;

// dotnet run -c Release --project tests/QuDag.Benchmarks -- [BenchmarkDotNet args, e.g. --filter '*Status*' or --job Dry]
//   latency [count]            ping round-trip percentiles, PingAsync vs bare SslStream, in one run
//   scale <connections>        managed and RSS bytes per connection end, remote ends in peer processes
//   cmdlets <peers>            Connect-QuDagPeer pipeline vs a one-by-one TcpClient + SslStream script
//   peers <count> | bare-peer  (internal) the remote ends for 'scale'
return args switch
{
    ["latency", .. var rest] => await Latency.RunAsync(rest.Length > 0 ? int.Parse(rest[0]) : 20_000),
    ["scale", var n] => await Scale.RunAsync(int.Parse(n)),
    ["peers", var n] => await Scale.ServePeersAsync(int.Parse(n)),
    ["bare-peer"] => await Scale.ServeBareAsync(),
    ["cmdlets", var n] => CmdletPipeline.Run(int.Parse(n)),
    _ => Run(args),
};

static int Run(string[] args)
{
    var summaries = BenchmarkSwitcher.FromAssembly(typeof(StatusBenchmarks).Assembly)
        .Run(args, DefaultConfig.Instance.WithOptions(ConfigOptions.JoinSummary));
    return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
}
