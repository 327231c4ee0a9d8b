using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using QuDag.Host;
using QuDag.Network;

namespace QuDag.Benchmarks;

/// <summary>
/// The cmdlets' own cost per call (issue 21): Test-QuDagPeer against one peer in a child process, as a script calls it
/// (a new pipeline per call, parameters bound from variables), beside an empty pipeline of the same shape (what the
/// engine costs any command) and the session manager's own PingAsync from this thread. Per call: wall time, this
/// process's CPU time, bytes allocated and thread-pool work items, all four load-robust but the first; the ways
/// alternate call by call within each round, so drift (the JIT's tiers, the machine's other work) hits them alike.
/// <para>cmdlet-cost [calls per round] [rounds] [way]: with a way (a part of its name, such as 'Count 1'), only that
/// one runs, after the gate of profile.sh.</para>
/// </summary>
internal static class CmdletCost
{
    private sealed record Way(string Name, int Pings, Action Call, int CallsPerCall = 1)
    {
        public readonly List<double> Wall = [], Cpu = [], Bytes = [], Items = [];
    }

    public static int Run(int calls, int rounds, string? only)
    {
        var children = new List<Process>();
        try
        {
            var (peer, endPoint) = Scale.StartPeersAsync(1, children, quiet: true).GetAwaiter().GetResult().Single();
            using var runspace = QuDagRunspace.Open(new TextHost(TextWriter.Null, Console.Error));
            using var ps = PowerShell.Create(runspace);
            Invoke(ps, "param($p, $e) Connect-QuDagPeer -PeerId $p -Address $e", new() { ["p"] = peer.ToString(), ["e"] = endPoint.ToString() });
            var manager = (ConnectionManager)Invoke(ps, "(Get-QuDagSession).Manager", [])[0].BaseObject;
            var text = peer.ToString();
            Way[] ways =
            [
                new("empty pipeline", 0, () => Invoke(ps, "param($p, $n) $null", new() { ["p"] = text, ["n"] = 1 })),
                new("Test-QuDagPeer -Count 1", 1, () => Expect(Invoke(ps, "param($p, $n) Test-QuDagPeer -PeerId $p -Count $n", new() { ["p"] = text, ["n"] = 1 }), 1)),
                new("script loop of 20, per call", 1, () => Expect(Invoke(ps, "param($p, $n) foreach ($i in 1..20) { Test-QuDagPeer -PeerId $p -Count $n }", new() { ["p"] = text, ["n"] = 1 }), 20), 20),
                new("manager PingAsync x1", 1, () => manager.PingAsync(peer).GetAwaiter().GetResult()),
                new("Test-QuDagPeer -Count 100", 100, () => Expect(Invoke(ps, "param($p, $n) Test-QuDagPeer -PeerId $p -Count $n", new() { ["p"] = text, ["n"] = 100 }), 100)),
                new("manager PingAsync x100", 100, () =>
                {
                    for (var i = 0; i < 100; i++)
                        manager.PingAsync(peer).GetAwaiter().GetResult();
                }),
            ];
            // Warm-up: the JIT's tiers settle after a few hundred calls of each path.
            for (var i = 0; i < 300; i++)
                foreach (var way in ways.Where(w => w.Pings <= 1 && w.CallsPerCall == 1))
                    way.Call();
            for (var i = 0; i < 10; i++)
                foreach (var way in ways.Where(w => w.Pings > 1 || w.CallsPerCall > 1))
                    way.Call();
            if (only is not null)
            {
                ways = ways.Where(w => w.Name.Contains(only, StringComparison.OrdinalIgnoreCase)).ToArray();
                Profiling.GateAsync($"cmdlet-cost {only}").GetAwaiter().GetResult();
            }
            using var self = Process.GetCurrentProcess();
            for (var round = 0; round < rounds; round++)
            {
                foreach (var way in ways)
                {
                    var n = way.Pings > 1 || way.CallsPerCall > 1 ? Math.Max(1, calls / 20) : calls;
                    self.Refresh();
                    var cpu0 = self.TotalProcessorTime;
                    var bytes0 = GC.GetTotalAllocatedBytes(precise: true);
                    var items0 = ThreadPool.CompletedWorkItemCount;
                    var t0 = Stopwatch.GetTimestamp();
                    for (var i = 0; i < n; i++)
                        way.Call();
                    var wall = Stopwatch.GetElapsedTime(t0);
                    self.Refresh();
                    var per = (double)n * way.CallsPerCall;
                    way.Wall.Add(wall.TotalMicroseconds / per);
                    way.Cpu.Add((self.TotalProcessorTime - cpu0).TotalMicroseconds / per);
                    way.Bytes.Add((GC.GetTotalAllocatedBytes(precise: true) - bytes0) / per);
                    way.Items.Add((ThreadPool.CompletedWorkItemCount - items0) / per);
                }
            }
            Console.WriteLine($"cmdlet-cost: {calls} calls a round ({calls / 20} of 100 pings), {rounds} rounds, peer in a child process; " +
                $"medians of the rounds (min-max); load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            Console.WriteLine($"{"way",-28}{"wall µs/call",22}{"CPU µs/call",22}{"bytes/call",24}{"work items/call",18}");
            foreach (var way in ways)
                Console.WriteLine($"{way.Name,-28}{Cell(way.Wall, "0"),22}{Cell(way.Cpu, "0"),22}{Cell(way.Bytes, "0"),24}{Cell(way.Items, "0.0"),18}");
            return 0;
        }
        finally
        {
            Scale.StopChildren(children);
        }
    }

    private static string Cell(List<double> values, string format)
    {
        var sorted = values.Order().ToArray();
        return $"{sorted[sorted.Length / 2].ToString(format)} ({sorted[0].ToString(format)}-{sorted[^1].ToString(format)})";
    }

    private static void Expect(System.Collections.ObjectModel.Collection<PSObject> output, int count)
    {
        if (output.Count != count)
            throw new InvalidOperationException($"Test-QuDagPeer wrote {output.Count} results, not {count}.");
    }

    private static System.Collections.ObjectModel.Collection<PSObject> Invoke(PowerShell ps, string script, Dictionary<string, object> parameters) =>
        HostedScript.Invoke(ps, script, parameters);
}
