using System.Globalization;
using System.Text.Json.Nodes;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>
/// js-libp2p side by side (issue 12): the same workloads by js &lt;-&gt; js, js &lt;-&gt; ours both ways and ours &lt;-&gt;
/// ours, every end a separate process (bench.mjs or this program's 'agent' mode), warmed up, the pairs interleaved in
/// rotating order within each round, a round's figure the median (or percentile) of its samples and the reported figure
/// the median over the rounds. The floors (handshake crypto, AEAD, bare TCP connect and ping-pong) run in the same run.
/// Every workload is timed inside the dialer's process, by the dialer, the same way for both stacks.
/// </summary>
public static class JsCompare
{
    public sealed record Settings(int Rounds, int SetupCount, int PingCount, long BulkBytes, int IdleCount, bool Quick, string[] Parts)
    {
        public static Settings Parse(string[] args)
        {
            bool quick = args.Contains("--quick");
            var s = quick
                ? new Settings(1, 3, 50, 1L << 20, 10, true, ["setup", "ping", "bulk", "idle", "floors"])
                : new Settings(7, 30, 2000, 64L << 20, 1000, false, ["setup", "ping", "bulk", "idle", "floors"]);
            for (int i = 0; i < args.Length - 1; i++)
            {
                s = args[i] switch
                {
                    "--rounds" => s with { Rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                    "--setup" => s with { SetupCount = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                    "--pings" => s with { PingCount = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                    "--bulk-mib" => s with { BulkBytes = long.Parse(args[i + 1], CultureInfo.InvariantCulture) << 20 },
                    "--idle" => s with { IdleCount = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                    "--only" => s with { Parts = args[i + 1].Split(',') },
                    _ => s,
                };
            }
            return s;
        }
    }

    /// <summary>A dialer and a listener.</summary>
    public readonly record struct Pair(Stack Client, Stack Server)
    {
        public override string ToString() => $"{Name(Client)} -> {Name(Server)}";
        private static string Name(Stack s) => s == Stack.Js ? "js" : "ours";
    }

    private static readonly Pair[] Pairs = [new(Stack.Js, Stack.Js), new(Stack.Js, Stack.Ours), new(Stack.Ours, Stack.Js), new(Stack.Ours, Stack.Ours)];
    private static readonly Pair JsJs = Pairs[0], JsOurs = Pairs[1], OursOurs = Pairs[3];

    private sealed class Figures
    {
        public readonly Dictionary<string, List<double>> Rounds = [];
        public readonly List<string> Loads = [];
        public void Add(string key, double value) => (Rounds.TryGetValue(key, out var l) ? l : Rounds[key] = []).Add(value);
        public double Median(string key) => Rounds.TryGetValue(key, out var l) ? Stats.Median(l) : double.NaN;
        public string Spread(string key) => Rounds.TryGetValue(key, out var l) && l.Count > 1 ? $"{l.Min():0.###}-{l.Max():0.###}" : "";
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var s = Settings.Parse(args);
        using var cts = new CancellationTokenSource(s.Quick ? TimeSpan.FromMinutes(5) : TimeSpan.FromMinutes(60));
        var ct = cts.Token;
        var f = new Figures();
        Console.WriteLine($"# js-compare {(s.Quick ? "(quick: checks the driver works; its figures mean nothing)" : "")}");
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; load average at start: {LoadAverage()}");
        Console.WriteLine($"rounds {s.Rounds}, setup {s.SetupCount}/round, pings {s.PingCount}/round, bulk {s.BulkBytes >> 20} MiB each way, idle {s.IdleCount}");

        if (s.Parts.Contains("floors"))
            RunCryptoFloors(s, f);
        if (s.Parts.Contains("setup") || s.Parts.Contains("ping") || s.Parts.Contains("bulk"))
            foreach (string security in new[] { "noise", "tls" })
                await RunTimedAsync(s, security, f, ct).ConfigureAwait(false);
        if (s.Parts.Contains("idle"))
            foreach (var pair in Pairs)
                await RunIdleAsync(s, pair, f, ct).ConfigureAwait(false);

        Console.WriteLine($"load average at end: {LoadAverage()}");
        Report(s, f);
        return 0;
    }

    private static void RunCryptoFloors(Settings s, Figures f)
    {
        using var floors = new CryptoFloors();
        int rounds = Math.Max(3, s.Rounds);
        f.Add("floor.handshake.us", CryptoFloors.MedianMicros(floors.NoiseXxHandshake, s.Quick ? 20 : 300, rounds));
        f.Add("floor.aead.us", CryptoFloors.MedianMicros(floors.SealOpen64K, s.Quick ? 50 : 2000, rounds));
        Console.WriteLine($"floors: Noise XX handshake crypto (both sides) {f.Median("floor.handshake.us"):0.0} us; ChaCha20-Poly1305 seal+open 64 KiB {f.Median("floor.aead.us"):0.0} us");
    }

    private static async Task RunTimedAsync(Settings s, string security, Figures f, CancellationToken ct)
    {
        bool noise = security == "noise";
        await using var jsServer = await AgentProcess.StartAsync(Stack.Js, security, ct).ConfigureAwait(false);
        await using var ourServer = await AgentProcess.StartAsync(Stack.Ours, security, ct).ConfigureAwait(false);
        await using var jsClient = await AgentProcess.StartAsync(Stack.Js, security, ct).ConfigureAwait(false);
        await using var ourClient = await AgentProcess.StartAsync(Stack.Ours, security, ct).ConfigureAwait(false);
        var address = new Dictionary<Stack, string>
        {
            [Stack.Js] = await ListenAsync(jsServer, ct).ConfigureAwait(false),
            [Stack.Ours] = await ListenAsync(ourServer, ct).ConfigureAwait(false),
        };
        AgentProcess Client(Stack stack) => stack == Stack.Js ? jsClient : ourClient;
        int barePort = 0;
        if (noise)
            barePort = (int)(await ourServer.CommandAsync("bare-listen", ct: ct).ConfigureAwait(false))["port"]!;

        // Warm-up: every code path of every pair, untimed (JIT tiers, V8's optimizer, pools).
        foreach (var pair in Pairs)
        {
            var client = Client(pair.Client);
            string addr = address[pair.Server];
            await client.CommandAsync("setup", new() { ["addr"] = addr, ["n"] = Math.Max(3, s.SetupCount / 2) }, ct: ct).ConfigureAwait(false);
            if (noise)
            {
                await client.CommandAsync("ping", new() { ["addr"] = addr, ["n"] = Math.Max(50, s.PingCount / 2) }, ct: ct).ConfigureAwait(false);
                foreach (string dir in new[] { "send", "fetch" })
                    await client.CommandAsync("bulk", new() { ["addr"] = addr, ["bytes"] = Math.Min(s.BulkBytes, 16L << 20), ["dir"] = dir }, ct: ct).ConfigureAwait(false);
            }
        }
        if (noise)
        {
            await ourClient.CommandAsync("bare-connect", new() { ["port"] = barePort, ["n"] = 50 }, ct: ct).ConfigureAwait(false);
            await ourClient.CommandAsync("bare-ping", new() { ["port"] = barePort, ["n"] = 500 }, ct: ct).ConfigureAwait(false);
        }

        for (int round = 0; round < s.Rounds; round++)
        {
            f.Loads.Add(LoadAverage());
            // The order rotates each round, so no pair always runs first (or right after the heaviest).
            var order = Pairs.Skip(round % Pairs.Length).Concat(Pairs.Take(round % Pairs.Length)).ToArray();
            foreach (var pair in order)
            {
                var client = Client(pair.Client);
                string addr = address[pair.Server];
                if (s.Parts.Contains("setup"))
                {
                    var setup = await client.CommandAsync("setup", new() { ["addr"] = addr, ["n"] = s.SetupCount }, ct: ct).ConfigureAwait(false);
                    f.Add($"setup.{security}.{pair}", Stats.Median(Samples(setup)) / 1000);
                }
                if (!noise)
                    continue;
                if (s.Parts.Contains("ping"))
                {
                    var ping = Samples(await client.CommandAsync("ping", new() { ["addr"] = addr, ["n"] = s.PingCount }, ct: ct).ConfigureAwait(false));
                    f.Add($"ping.p50.{pair}", Stats.Percentile(ping, 50));
                    f.Add($"ping.p99.{pair}", Stats.Percentile(ping, 99));
                }
                if (s.Parts.Contains("bulk"))
                    foreach (string dir in new[] { "send", "fetch" })
                    {
                        var bulk = await client.CommandAsync("bulk", new() { ["addr"] = addr, ["bytes"] = s.BulkBytes, ["dir"] = dir }, ct: ct).ConfigureAwait(false);
                        if (bulk["match"]?.GetValue<bool>() != true)
                            throw new InvalidOperationException($"Bulk {dir} {pair}: the bytes did not match.");
                        f.Add($"bulk.{dir}.{pair}", s.BulkBytes / 1e6 / ((double)bulk["ms"]! / 1000));
                    }
            }
            if (noise)
            {
                if (s.Parts.Contains("setup"))
                    f.Add("floor.connect.us", Stats.Median(Samples(await ourClient.CommandAsync("bare-connect", new() { ["port"] = barePort, ["n"] = s.SetupCount }, ct: ct).ConfigureAwait(false))));
                if (s.Parts.Contains("ping"))
                {
                    var bare = Samples(await ourClient.CommandAsync("bare-ping", new() { ["port"] = barePort, ["n"] = s.PingCount }, ct: ct).ConfigureAwait(false));
                    f.Add("floor.ping.p50", Stats.Percentile(bare, 50));
                    f.Add("floor.ping.p99", Stats.Percentile(bare, 99));
                }
            }
            Console.WriteLine($"{security} round {round + 1}/{s.Rounds} done (load average {LoadAverage()})");
        }
    }

    private static async Task RunIdleAsync(Settings s, Pair pair, Figures f, CancellationToken ct)
    {
        // Fresh processes for each pair: a process that ran another way would carry its heap and its pools.
        await using var server = await AgentProcess.StartAsync(pair.Server, "noise", ct).ConfigureAwait(false);
        await using var client = await AgentProcess.StartAsync(pair.Client, "noise", ct).ConfigureAwait(false);
        string addr = await ListenAsync(server, ct).ConfigureAwait(false);
        // Load the code paths (one connection opened and closed) before the baseline.
        await client.CommandAsync("setup", new() { ["addr"] = addr, ["n"] = 3 }, ct: ct).ConfigureAwait(false);
        await WaitForConnectionsAsync(server, 0, ct).ConfigureAwait(false);
        var serverBefore = await server.CommandAsync("mem", ct: ct).ConfigureAwait(false);
        var clientBefore = await client.CommandAsync("mem", ct: ct).ConfigureAwait(false);
        var opened = await client.CommandAsync("idle", new() { ["addr"] = addr, ["n"] = s.IdleCount }, TimeSpan.FromMinutes(10), ct).ConfigureAwait(false);
        if ((int)opened["opened"]! != s.IdleCount)
            throw new InvalidOperationException($"Idle {pair}: opened {opened["opened"]} of {s.IdleCount}.");
        await WaitForConnectionsAsync(server, s.IdleCount, ct).ConfigureAwait(false);
        // Let identify and the first exchanges settle: the figure is of idle connections.
        await Task.Delay(TimeSpan.FromSeconds(s.Quick ? 0.2 : 2), ct).ConfigureAwait(false);
        var serverAfter = await server.CommandAsync("mem", ct: ct).ConfigureAwait(false);
        var clientAfter = await client.CommandAsync("mem", ct: ct).ConfigureAwait(false);
        if ((int)serverAfter["connections"]! < s.IdleCount || (int)clientAfter["connections"]! < s.IdleCount)
            throw new InvalidOperationException($"Idle {pair}: {clientAfter["connections"]} dialer and {serverAfter["connections"]} listener connections of {s.IdleCount}.");
        foreach (var (end, before, after, stack) in new[] { ("dialer", clientBefore, clientAfter, pair.Client), ("listener", serverBefore, serverAfter, pair.Server) })
        {
            f.Add($"idle.rss.{end}.{pair}", ((long)after["rss"]! - (long)before["rss"]!) / (double)s.IdleCount);
            f.Add($"idle.managed.{end}.{pair}", (Managed(after, stack) - Managed(before, stack)) / (double)s.IdleCount);
        }
        await client.CommandAsync("close-all", ct: ct).ConfigureAwait(false);
        Console.WriteLine($"idle {pair} done (load average {LoadAverage()})");
    }

    // js's "managed" memory: the V8 heap plus what it holds outside it (Buffers, ArrayBuffers).
    private static long Managed(JsonObject mem, Stack stack) =>
        stack == Stack.Ours ? (long)mem["managed"]! : (long)mem["heapUsed"]! + (long)mem["external"]!;

    private static async Task WaitForConnectionsAsync(AgentProcess agent, int count, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var mem = await agent.CommandAsync("mem", ct: ct).ConfigureAwait(false);
            int have = (int)mem["connections"]!;
            if (count == 0 ? have == 0 : have >= count)
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"The {agent.Stack} listener holds {have} connections, not {count}.");
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }

    private static async Task<string> ListenAsync(AgentProcess agent, CancellationToken ct)
    {
        var answer = await agent.CommandAsync("listen", ct: ct).ConfigureAwait(false);
        return answer["addrs"]!.AsArray().Select(a => (string)a!).First(a => a.StartsWith("/ip4/127.0.0.1/", StringComparison.Ordinal));
    }

    private static List<double> Samples(JsonObject answer) => answer["us"]!.AsArray().Select(n => (double)n!).ToList();

    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static void Report(Settings s, Figures f)
    {
        string F(double v, string fmt = "0.000") => double.IsNaN(v) ? "-" : v.ToString(fmt, CultureInfo.InvariantCulture);
        Console.WriteLine();
        Console.WriteLine($"load average per round: {string.Join("; ", f.Loads)}");
        Console.WriteLine();
        Console.WriteLine("| pair (dialer -> listener) | setup noise ms | setup tls ms | ping p50 us | ping p99 us | bulk send MB/s | bulk fetch MB/s |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var p in Pairs)
            Console.WriteLine($"| {p} | {F(f.Median($"setup.noise.{p}"))} | {F(f.Median($"setup.tls.{p}"))} | {F(f.Median($"ping.p50.{p}"), "0")} | {F(f.Median($"ping.p99.{p}"), "0")} | {F(f.Median($"bulk.send.{p}"), "0")} | {F(f.Median($"bulk.fetch.{p}"), "0")} |");
        Console.WriteLine($"| bare TCP (floor) | connect {F(f.Median("floor.connect.us") / 1000)} | | {F(f.Median("floor.ping.p50"), "0")} | {F(f.Median("floor.ping.p99"), "0")} | | |");
        Console.WriteLine();
        Console.WriteLine("spread over rounds (min-max of the round figures):");
        foreach (var key in f.Rounds.Keys.Order())
            if (f.Spread(key) is { Length: > 0 } spread)
                Console.WriteLine($"  {key}: {spread}");
        Console.WriteLine();
        Console.WriteLine($"| pair, {s.IdleCount} idle connections | dialer RSS KiB/conn | dialer managed KiB/conn | listener RSS KiB/conn | listener managed KiB/conn |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var p in Pairs)
            Console.WriteLine($"| {p} | {F(f.Median($"idle.rss.dialer.{p}") / 1024, "0.0")} | {F(f.Median($"idle.managed.dialer.{p}") / 1024, "0.0")} | {F(f.Median($"idle.rss.listener.{p}") / 1024, "0.0")} | {F(f.Median($"idle.managed.listener.{p}") / 1024, "0.0")} |");
        Console.WriteLine("(js's managed = V8 heapUsed + external, after global.gc(); ours = GC.GetTotalMemory after full compacting collections)");

        double hs = f.Median("floor.handshake.us"), aead = f.Median("floor.aead.us");
        double connect = f.Median("floor.connect.us"), barePing = f.Median("floor.ping.p50");
        double setupOO = f.Median($"setup.noise.{OursOurs}") * 1000, setupJJ = f.Median($"setup.noise.{JsJs}") * 1000;
        double pingOO = f.Median($"ping.p50.{OursOurs}"), pingJJ = f.Median($"ping.p50.{JsJs}"), pingJO = f.Median($"ping.p50.{JsOurs}");
        // Two cores: one seals while the other opens, so the floor moves 64 KiB per max(seal, open) ~ (seal+open)/2.
        double aeadFloor = CryptoFloors.AeadSize / (aead / 2) ; // bytes per us = MB/s
        Console.WriteLine();
        Console.WriteLine($"floors: handshake crypto {F(hs, "0.0")} us, bare connect {F(connect, "0.0")} us, bare ping p50 {F(barePing, "0.0")} us, AEAD seal+open 64 KiB {F(aead, "0.0")} us = {F(aeadFloor, "0")} MB/s for 2 cores");
        Console.WriteLine();
        Console.WriteLine("| figure | target | measured | met |");
        Console.WriteLine("|---|---|---|---|");
        void Row(string figure, string target, double ratio, bool lessIsBetter, double bound, string measured)
        {
            string met = double.IsNaN(ratio) ? "-" : (lessIsBetter ? ratio <= bound : ratio >= bound) ? "met" : "missed";
            Console.WriteLine($"| {figure} | {target} | {measured} | {met} |");
        }
        Row("setup ours<->ours noise", "<= 0.25x js<->js", setupOO / setupJJ, true, 0.25, $"{F(setupOO / 1000)} ms = {F(setupOO / setupJJ)}x of {F(setupJJ / 1000)} ms");
        Row("setup ours<->ours noise", "<= 1.5x (handshake crypto + bare connect)", setupOO / (hs + connect), true, 1.5, $"{F(setupOO / (hs + connect), "0.00")}x of {F(hs + connect, "0")} us");
        Row("ping p50 ours<->ours", "<= 0.25x js<->js", pingOO / pingJJ, true, 0.25, $"{F(pingOO, "0")} us = {F(pingOO / pingJJ)}x of {F(pingJJ, "0")} us");
        Row("ping p50 ours<->ours", "<= 1.5x bare TCP ping-pong", pingOO / barePing, true, 1.5, $"{F(pingOO / barePing, "0.00")}x of {F(barePing, "0")} us");
        Row("ping p50 js dialing us", "<= 0.7x js<->js", pingJO / pingJJ, true, 0.7, $"{F(pingJO, "0")} us = {F(pingJO / pingJJ)}x");
        foreach (string dir in new[] { "send", "fetch" })
        {
            double oo = f.Median($"bulk.{dir}.{OursOurs}"), jj = f.Median($"bulk.{dir}.{JsJs}");
            Row($"bulk {dir} ours<->ours", ">= 3x js<->js", oo / jj, false, 3, $"{F(oo, "0")} MB/s = {F(oo / jj, "0.00")}x of {F(jj, "0")}");
            Row($"bulk {dir} ours<->ours", ">= 60% of the AEAD floor for 2 cores", oo / aeadFloor, false, 0.6, $"{F(100 * oo / aeadFloor, "0")}% of {F(aeadFloor, "0")} MB/s");
        }
        foreach (string end in new[] { "dialer", "listener" })
        {
            double managed = f.Median($"idle.managed.{end}.{OursOurs}");
            double rssOurs = f.Median($"idle.rss.{end}.{OursOurs}"), rssJs = f.Median($"idle.rss.{end}.{JsJs}");
            Row($"idle connection, {end}", "<= 4 KiB managed", managed, true, 4096, $"{F(managed / 1024, "0.00")} KiB");
            Row($"idle connection, {end}", "RSS <= 0.33x js's", rssOurs / rssJs, true, 0.33, $"{F(rssOurs / 1024, "0.0")} KiB = {F(rssOurs / rssJs, "0.00")}x of {F(rssJs / 1024, "0.0")} KiB");
        }
    }
}
