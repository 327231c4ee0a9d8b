using System.Text.Json.Nodes;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>idle-heap: heap dumps of our dialer and listener agents (noise) before and after N idle connections, diffed.</summary>
public static class IdleHeap
{
    public static async Task<int> RunAsync(int n, string directory)
    {
        Directory.CreateDirectory(directory);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        var ct = cts.Token;
        await using var server = await AgentProcess.StartAsync(Stack.Ours, "noise", ct).ConfigureAwait(false);
        await using var client = await AgentProcess.StartAsync(Stack.Ours, "noise", ct).ConfigureAwait(false);
        string addr = (string)(await server.CommandAsync("listen", ct: ct).ConfigureAwait(false))["addrs"]![0]!;
        await client.CommandAsync("setup", new() { ["addr"] = addr, ["n"] = 3 }, ct: ct).ConfigureAwait(false);
        await Task.Delay(500, ct).ConfigureAwait(false);
        string Path(string end, string when) => System.IO.Path.Combine(directory, $"{end}-{when}.dmp");
        foreach (var (end, agent) in new[] { ("listener", server), ("dialer", client) })
            await agent.CommandAsync("dump", new() { ["path"] = Path(end, "before") }, ct: ct).ConfigureAwait(false);
        await client.CommandAsync("idle", new() { ["addr"] = addr, ["n"] = n }, TimeSpan.FromMinutes(10), ct).ConfigureAwait(false);
        await Task.Delay(2000, ct).ConfigureAwait(false);
        foreach (var (end, agent) in new[] { ("listener", server), ("dialer", client) })
        {
            var answer = await agent.CommandAsync("dump", new() { ["path"] = Path(end, "after") }, TimeSpan.FromMinutes(5), ct).ConfigureAwait(false);
            Console.WriteLine($"{end}: {answer["connections"]} connections");
        }
        await client.CommandAsync("close-all", ct: ct).ConfigureAwait(false);
        foreach (string end in new[] { "dialer", "listener" })
            HeapDiff.Run(Path(end, "before"), Path(end, "after"), n);
        return 0;
    }
}
