using System.Diagnostics;
using System.Text.Json.Nodes;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>
/// loop &lt;ping|bare-ping|bulk-send|bulk-fetch|setup&gt; &lt;seconds&gt; [js|ours] [noise|tls]: one js-compare workload, our stack dialing
/// from this process, the listener (js or ours) in a child process, repeated for the given time, so a profiler sees
/// nothing else. Prints "CHILD pid" and "GATE pid", then waits for the file QUDAG_PROFILE_GATE names (when set) before
/// the measured phase: profiling/profile.sh and perf.sh attach meanwhile.
/// </summary>
public static class Loop
{
    public static async Task<int> RunAsync(string what, double seconds, string[] rest)
    {
        var serverStack = rest.Length > 0 && rest[0] == "js" ? Stack.Js : Stack.Ours;
        string security = rest.Length > 1 ? rest[1] : "noise";
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + 300));
        var ct = cts.Token;
        await using var server = await AgentProcess.StartAsync(serverStack, security, ct).ConfigureAwait(false);
        await using var agent = new OurAgent(security);
        string addr = (string)(await server.CommandAsync("listen", ct: ct).ConfigureAwait(false))["addrs"]![0]!;
        int barePort = what == "bare-ping" ? (int)(await server.CommandAsync("bare-listen", ct: ct).ConfigureAwait(false))["port"]! : 0;
        // QUDAG_LOOP_SIZE scales a run (round trips, MiB, dials) and QUDAG_LOOP_RUNS fixes the number of runs: what
        // profiling/instructions.sh sets, since a run under valgrind takes a hundred times longer.
        int pings = EnvInt("QUDAG_LOOP_SIZE", 2000), mib = EnvInt("QUDAG_LOOP_SIZE", 64), dials = EnvInt("QUDAG_LOOP_SIZE", 20);
        int fixedRuns = EnvInt("QUDAG_LOOP_RUNS", 0);
        JsonObject Args() => what switch
        {
            "ping" => new() { ["addr"] = addr, ["n"] = pings },
            "bare-ping" => new() { ["port"] = barePort, ["n"] = pings },
            "setup" => new() { ["addr"] = addr, ["n"] = dials },
            "bulk-send" => new() { ["addr"] = addr, ["bytes"] = (long)mib << 20, ["dir"] = "send" },
            "bulk-fetch" => new() { ["addr"] = addr, ["bytes"] = (long)mib << 20, ["dir"] = "fetch" },
            _ => throw new ArgumentException($"loop: unknown workload '{what}'"),
        };
        string cmd = what.StartsWith("bulk", StringComparison.Ordinal) ? "bulk" : what;
        await agent.RunCommandAsync(cmd, Args()).ConfigureAwait(false); // warm-up
        Console.WriteLine($"CHILD {server.ProcessId}");
        Console.WriteLine($"GATE {Environment.ProcessId}");
        if (Environment.GetEnvironmentVariable("QUDAG_PROFILE_GATE") is { Length: > 0 } gate)
            while (!File.Exists(gate))
                await Task.Delay(100, ct).ConfigureAwait(false);
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        using var child = Process.GetProcessById(server.ProcessId);
        var childCpu0 = child.TotalProcessorTime;
        long t0 = Stopwatch.GetTimestamp();
        long workItems0 = ThreadPool.CompletedWorkItemCount;
        long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        int runs = 0;
        var figures = new List<double>();
        while (fixedRuns > 0 ? runs < fixedRuns : Stopwatch.GetElapsedTime(t0).TotalSeconds < seconds)
        {
            var answer = await agent.RunCommandAsync(cmd, Args()).ConfigureAwait(false);
            figures.Add(answer["us"] is JsonArray us ? Stats.Median(us.Select(x => (double)x!).ToList()) : (double)answer["ms"]!);
            runs++;
        }
        long workItems = ThreadPool.CompletedWorkItemCount - workItems0;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
        process.Refresh();
        child.Refresh();
        var childCpu = child.TotalProcessorTime - childCpu0;
        Console.WriteLine($"loop {what} against {serverStack} ({security}): {runs} runs in {Stopwatch.GetElapsedTime(t0).TotalSeconds:0.0} s, " +
                          $"median per run {Stats.Median(figures):0.0} {(cmd == "bulk" ? "ms" : "us (median sample)")}, CPU per run: here {(process.TotalProcessorTime - cpu0).TotalMilliseconds / runs:0.0} ms, listener {childCpu.TotalMilliseconds / runs:0.0} ms, " +
                          $"thread-pool work items {workItems / (double)runs:0} per run{(what.Contains("ping") ? $" ({workItems / ((double)runs * pings):0.00} per round trip)" : "")}, " +
                          $"load average {JsCompare.LoadAverage()}");
        // The measured phase's operations, for profiling/syscalls.sh: round trips, MiB moved, or dials.
        long ops = (long)runs * (what.Contains("ping") ? pings : cmd == "bulk" ? mib : dials);
        Console.WriteLine($"allocated here: {allocated / (double)ops:0} B per {(what.Contains("ping") ? "round trip" : cmd == "bulk" ? "MiB" : "dial")}");
        Console.WriteLine($"OPS {ops}");
        return 0;
    }

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int value) && value > 0 ? value : fallback;
}
