using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Net;
using QuDag.Host;
using QuDag.Network;

namespace QuDag.Benchmarks;

/// <summary>
/// Group 6: peers piped into Connect-QuDagPeer in the hosted engine, against a serial script (a foreach loop
/// calling Connect-QuDagPeer for one peer at a time). Both keep their connections open.
/// <para>
/// cmdlets &lt;peers&gt; [remote|inproc] [both|cmdlet|script] [rounds] [throttle]. 'remote' (the default) puts the
/// peer nodes in child processes, as group 5 does, so this process holds only the dialer's ends and its CPU time is
/// the dialer's alone; 'inproc' keeps them in this process (the first harness). Before the first round both ways run
/// untimed over the same peers, at least twice (QUDAG_WARM_PASSES) and until the JIT is nearly done with the connect
/// path, so neither pays the JIT (tier-0 code and its promotions) inside the timing. Each way then starts
/// from nothing open (the previous way's connections are closed and the remote ends given a second to let go), and
/// the order alternates between rounds. Beside the wall time each way reports the CPU time of this process and of
/// the peer processes per peer, what other processes used meanwhile, and what the JIT compiled here.
/// </para>
/// </summary>
internal static class CmdletPipeline
{
    private static readonly int WarmPasses = int.TryParse(Environment.GetEnvironmentVariable("QUDAG_WARM_PASSES"), out var passes) ? passes : 2;

    // A libp2p peer cannot be reached from a script without a libp2p stack (Noise, yamux), so the serial script
    // is the one an operator writes with the module and no pipeline: one Connect-QuDagPeer after another, each
    // waiting for its connection before the next starts.
    private const string ScriptWay = """
        foreach ($row in $rows) {
            Connect-QuDagPeer -Session $s -PeerId $row.PeerId -Endpoint $row.Endpoint
        }
        """;

    private const string CmdletWay = "$rows | Connect-QuDagPeer -Session $s -ThrottleLimit $throttle";

    /// <summary>Runs on the calling (main) thread, as pwsh runs a pipeline: no thread-pool thread is blocked by the harness.</summary>
    public static int Run(int count, string where, string which, int rounds, int throttle)
    {
        if (where is not ("remote" or "inproc") || which is not ("both" or "cmdlet" or "script") || rounds < 1)
        {
            Console.Error.WriteLine("usage: cmdlets <peers> [remote|inproc] [both|cmdlet|script] [rounds] [throttle]");
            return 2;
        }
        var children = new List<Process>();
        var nodes = new List<ConnectionManager>();
        try
        {
            List<(PeerId Id, IPEndPoint EndPoint)> peers;
            if (where == "remote")
            {
                peers = Scale.StartPeersAsync(count, children).GetAwaiter().GetResult();
            }
            else
            {
                peers = [];
                for (var i = 0; i < count; i++)
                {
                    var node = new ConnectionManager(new ConnectionManagerOptions { MaxConnections = 4 });
                    nodes.Add(node);
                    peers.Add((node.LocalPeerId, node.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0)).GetAwaiter().GetResult().LocalEndPoint));
                }
            }
            var rows = peers.Select(Row).ToArray();

            using var runspace = QuDagRunspace.Open(new TextHost(TextWriter.Null, Console.Error));
            runspace.SessionStateProxy.SetVariable("throttle", throttle);
            runspace.SessionStateProxy.SetVariable("rows", rows);
            // Warm-up: JIT of the connect path, PowerShell's compilation of both pipelines, the thread pool. A method
            // reaches its final code only after two promotions (tier 0, then instrumented, then tier 1), each after 30
            // calls and a quiet period, so one pass is not enough: the first harness measured the JIT working. Untimed
            // passes over the same peers go on until a cmdlet pass compiles fewer than 30 methods (at least WarmPasses,
            // at most 5).
            var warmLog = new List<string>();
            for (var pass = 0; pass < 5; pass++)
            {
                var jitted = System.Runtime.JitInfo.GetCompiledMethodCount();
                if (which != "script")
                    RunWay(runspace, "cmdlet", count, children, null);
                var cmdletJitted = System.Runtime.JitInfo.GetCompiledMethodCount() - jitted;
                if (which != "cmdlet")
                    RunWay(runspace, "script", count, children, null);
                warmLog.Add(which == "script" ? "" : $"{cmdletJitted}");
                if (pass + 1 >= WarmPasses && (which == "script" || cmdletJitted < 30))
                    break;
            }

            Console.WriteLine($"peers={count} cores={Environment.ProcessorCount} remote ends: " +
                (where == "remote" ? $"{children.Count} child processes (pid {string.Join(", ", children.Select(c => c.Id))})" : "this process") + $", ThrottleLimit {throttle}; " +
                $"{warmLog.Count} untimed warm-up passes" + (which == "script" ? "" : $" (methods the JIT compiled during each cmdlet pass: {string.Join(", ", warmLog)})"));
            var results = new Dictionary<string, List<Result>> { ["cmdlet"] = [], ["script"] = [] };
            var ok = true;
            for (var round = 0; round < rounds; round++)
            {
                var order = which == "both" ? (round % 2 == 0 ? new[] { "cmdlet", "script" } : ["script", "cmdlet"]) : [which];
                foreach (var way in order)
                {
                    var gated = Environment.GetEnvironmentVariable("QUDAG_PROFILE_GATE") is { Length: > 0 };
                    if (gated)
                    {
                        foreach (var child in children)
                            Console.WriteLine($"CHILD {child.Id}"); // profile.sh traces these too with TRACE_CHILDREN=1
                        Profiling.GateAsync($"cmdlets {way}").GetAwaiter().GetResult();
                    }
                    var result = RunWay(runspace, way, count, children, Console.Out, exitAfter: gated);
                    results[way].Add(result);
                    ok &= result.Connected == count;
                }
                if (which == "both")
                    Console.WriteLine($"round {round + 1}: speed-up = {results["script"][round].Wall / results["cmdlet"][round].Wall:0.00}x");
            }
            if (which == "both" && rounds > 1)
            {
                var ratios = results["cmdlet"].Zip(results["script"], (c, s) => s.Wall / c.Wall).Order().ToArray();
                Console.WriteLine($"speed-up over {rounds} rounds: median {ratios[ratios.Length / 2]:0.00}x (min {ratios[0]:0.00}x, max {ratios[^1]:0.00}x)");
            }
            return ok ? 0 : 1;
        }
        finally
        {
            Scale.StopChildren(children);
            foreach (var node in nodes)
                node.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static PSObject Row((PeerId Id, IPEndPoint EndPoint) peer)
    {
        var row = new PSObject();
        row.Properties.Add(new PSNoteProperty("PeerId", peer.Id.ToString()));
        row.Properties.Add(new PSNoteProperty("Endpoint", peer.EndPoint.ToString()));
        return row;
    }

    private readonly record struct Result(TimeSpan Wall, int Connected, TimeSpan CpuHere, TimeSpan CpuRemote);

    /// <summary>Times one way over $rows, then closes what it opened and gives the remote ends a second to let go.</summary>
    /// <param name="exitAfter">
    /// Under profile.sh the trace lasts until this process exits: exit right after the report, before closing
    /// anything, so the trace holds the measured phase only. The peer processes exit when their input closes with it.
    /// </param>
    private static Result RunWay(Runspace runspace, string way, int count, List<Process> children, TextWriter? report, bool exitAfter = false)
    {
        // The session exists before timing starts; the default limit of 100 is too small for this run.
        Invoke(runspace, $"$s = New-QuDagSession -MaxConnections {count}");
        var threads0 = ThreadPool.ThreadCount;
        var cpu0 = Profiling.CpuTimes(children);
        var machine0 = MachineBusy();
        var jit0 = System.Runtime.JitInfo.GetCompilationTime();
        var jitted0 = System.Runtime.JitInfo.GetCompiledMethodCount();
        var bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        var items0 = ThreadPool.CompletedWorkItemCount;
        var watch = Stopwatch.StartNew();
        Invoke(runspace, way == "cmdlet" ? CmdletWay : ScriptWay);
        var wall = watch.Elapsed;
        var bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0;
        var items = ThreadPool.CompletedWorkItemCount - items0;
        var cpu = Profiling.CpuTimes(children).Zip(cpu0, (a, b) => a - b).ToArray();
        var others = MachineBusy() - machine0 - TimeSpan.FromTicks(cpu.Sum(t => t.Ticks));
        var jit = System.Runtime.JitInfo.GetCompilationTime() - jit0;
        var jitted = System.Runtime.JitInfo.GetCompiledMethodCount() - jitted0;
        var threads = ThreadPool.ThreadCount;
        var connected = (int)Invoke(runspace, "(Get-QuDagMetrics -Session $s).Connections")[0].BaseObject;
        var result = new Result(wall, connected, cpu[0], TimeSpan.FromTicks(cpu.Skip(1).Sum(t => t.Ticks)));
        if (report is not null)
        {
            var name = way == "cmdlet" ? "Connect-QuDagPeer pipeline" : "serial Connect-QuDagPeer script";
            var remote = children.Count > 0 ? $" + peer processes {result.CpuRemote.TotalMicroseconds / count:0} µs" : "";
            report.WriteLine($"{name} : {wall.TotalSeconds:0.000} s ({connected} connected, {count / wall.TotalSeconds:0} peers/s); " +
                $"CPU per peer: this process {result.CpuHere.TotalMicroseconds / count:0} µs{remote}; here per peer {bytes / 1024.0 / count:0.0} KiB allocated, " +
                $"{items / (double)count:0.0} work items; thread pool {threads0} -> {threads} threads; " +
                $"other processes used {Math.Max(0, others / wall):0.00} cores meanwhile; JIT here: {jitted} methods, {jit.TotalMilliseconds:0} ms");
            var handshake = (TimeSpan)Invoke(runspace, "$s.Manager.GetMetrics().AvgHandshakeTime")[0].BaseObject;
            var atOnce = way == "cmdlet" ? $"{throttle(runspace)} at once" : "one at a time";
            report.WriteLine($"  manager's mean handshake (TCP + multistream + Noise + yamux, {atOnce}): {handshake.TotalMilliseconds:0.00} ms");
        }
        if (exitAfter)
        {
            Console.Out.Flush();
            Environment.Exit(connected == count ? 0 : 1);
        }
        Invoke(runspace, "$s.Dispose()");
        Thread.Sleep(1000);
        return result;

        static int throttle(Runspace runspace) => (int)runspace.SessionStateProxy.GetVariable("throttle");
    }

    /// <summary>CPU time all processes used so far (/proc/stat: user, nice, system, irq, softirq, steal), to tell what else ran.</summary>
    private static TimeSpan MachineBusy()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var ticks = new[] { 1, 2, 3, 6, 7, 8 }.Sum(i => long.Parse(fields[i]));
        return TimeSpan.FromMilliseconds(ticks * 10); // 100 clock ticks per second here
    }

    private static System.Collections.ObjectModel.Collection<PSObject> Invoke(Runspace runspace, string script)
    {
        using var ps = System.Management.Automation.PowerShell.Create(runspace);
        var output = ps.AddScript(script).Invoke();
        if (ps.Streams.Error.Count > 0)
            throw new InvalidOperationException(string.Join("\n", ps.Streams.Error.Take(3)));
        return output;
    }
}
