using System.Globalization;
using System.Text.Json.Nodes;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>
/// js-libp2p side by side (issues 12 and 21): the same workloads by js &lt;-&gt; js, js &lt;-&gt; ours both ways and ours
/// &lt;-&gt; ours, every end a separate process (bench.mjs or this program's 'agent' mode), warmed up, the pairs
/// interleaved in rotating order within each round, a round's figure the median (or percentile) of its samples and the
/// reported figure the median over the rounds. The floors (handshake crypto, AEAD, bare TCP connect, ping-pong and bulk)
/// run in the same run. Every workload is timed inside the dialer's process, by the dialer, the same way for both stacks.
/// Beside them: what the manager and the module add to the stack's ping (part 'manager': ConnectionManager.PingAsync and
/// Test-QuDagPeer against the stack's ping on the same connection, in one process and across two), the stack's 64 B
/// messages against the naive secure way (part 'messages', in this process), and idle memory at several counts.
/// </summary>
public static class JsCompare
{
    public sealed record Settings(int Rounds, int SetupCount, int PingCount, long BulkBytes, int[] IdleCounts, bool Quick, string[] Parts)
    {
        public static readonly string[] AllParts = ["setup", "ping", "bulk", "idle", "floors", "manager", "messages"];

        public static Settings Parse(string[] args)
        {
            bool quick = args.Contains("--quick");
            var s = quick
                ? new Settings(1, 3, 50, 1L << 20, [10], true, AllParts)
                : new Settings(7, 30, 2000, 64L << 20, [1000, 10_000], false, AllParts);
            for (int i = 0; i < args.Length - 1; i++)
            {
                s = args[i] switch
                {
                    "--rounds" => s with { Rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                    "--setup" => s with { SetupCount = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                    "--pings" => s with { PingCount = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                    "--bulk-mib" => s with { BulkBytes = long.Parse(args[i + 1], CultureInfo.InvariantCulture) << 20 },
                    "--idle" => s with { IdleCounts = args[i + 1].Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray() },
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
    private static readonly Pair JsJs = Pairs[0], JsOurs = Pairs[1], OursJs = Pairs[2], OursOurs = Pairs[3];

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
        Console.WriteLine($"rounds {s.Rounds}, setup {s.SetupCount}/round, pings {s.PingCount}/round, bulk {s.BulkBytes >> 20} MiB each way, idle {string.Join(" and ", s.IdleCounts)}; parts {string.Join(",", s.Parts)}");

        if (s.Parts.Contains("floors"))
            RunCryptoFloors(s, f);
        if (s.Parts.Contains("setup") || s.Parts.Contains("ping") || s.Parts.Contains("bulk") || s.Parts.Contains("manager"))
            // TLS is timed for setup only: every other workload runs over Noise.
            foreach (string security in s.Parts.Contains("setup") ? new[] { "noise", "tls" } : ["noise"])
                await RunTimedAsync(s, security, f, ct).ConfigureAwait(false);
        if (s.Parts.Contains("messages"))
            await RunMessagesAsync(s, f).ConfigureAwait(false);
        if (s.Parts.Contains("idle"))
            foreach (int count in s.IdleCounts)
                // Every pair at the first count; past it, the two the targets compare (ours and js, each with itself).
                foreach (var pair in count == s.IdleCounts[0] ? Pairs : [JsJs, OursOurs])
                    await RunIdleAsync(s, count, pair, f, ct).ConfigureAwait(false);

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
        int barePort = 0, sinkPort = 0, managerPort = 0;
        string managerPeer = "";
        bool manager = noise && s.Parts.Contains("manager");
        if (noise)
        {
            var bare = await ourServer.CommandAsync("bare-listen", ct: ct).ConfigureAwait(false);
            (barePort, sinkPort) = ((int)bare["port"]!, (int)bare["sinkPort"]!);
        }
        if (manager)
        {
            // The listener's manager lives in the server agent beside its host (another peer id, another port).
            var listening = await ourServer.CommandAsync("manager-listen", ct: ct).ConfigureAwait(false);
            (managerPeer, managerPort) = ((string)listening["peerId"]!, (int)listening["port"]!);
        }
        JsonObject ManagerArgs(int n) => new() { ["peer"] = managerPeer, ["port"] = managerPort, ["n"] = n };

        // Warm-up: every code path of every pair, untimed (JIT tiers, V8's optimizer, pools).
        foreach (var pair in Pairs)
        {
            var client = Client(pair.Client);
            string addr = address[pair.Server];
            if (s.Parts.Contains("setup"))
                await client.CommandAsync("setup", new() { ["addr"] = addr, ["n"] = Math.Max(3, s.SetupCount / 2) }, ct: ct).ConfigureAwait(false);
            if (noise && s.Parts.Contains("ping"))
                await client.CommandAsync("ping", new() { ["addr"] = addr, ["n"] = Math.Max(50, s.PingCount / 2) }, ct: ct).ConfigureAwait(false);
            if (noise && s.Parts.Contains("bulk"))
                foreach (string dir in new[] { "send", "fetch" })
                    await client.CommandAsync("bulk", new() { ["addr"] = addr, ["bytes"] = Math.Min(s.BulkBytes, 16L << 20), ["dir"] = dir }, ct: ct).ConfigureAwait(false);
        }
        if (noise)
        {
            await ourClient.CommandAsync("bare-connect", new() { ["port"] = barePort, ["n"] = 50 }, ct: ct).ConfigureAwait(false);
            await ourClient.CommandAsync("bare-ping", new() { ["port"] = barePort, ["n"] = 500 }, ct: ct).ConfigureAwait(false);
            await ourClient.CommandAsync("bare-bulk", new() { ["port"] = sinkPort, ["bytes"] = Math.Min(s.BulkBytes, 16L << 20) }, ct: ct).ConfigureAwait(false);
        }
        if (manager)
        {
            // The hosted engine's first start (the module's import) and the three ways' first pings happen here.
            await ourClient.CommandAsync("manager-ping", ManagerArgs(200), ct: ct).ConfigureAwait(false);
            await ourClient.CommandAsync("inproc-ping", new() { ["n"] = 200 }, ct: ct).ConfigureAwait(false);
            await ourClient.CommandAsync("cmdlet-ping", ManagerArgs(200), TimeSpan.FromMinutes(5), ct).ConfigureAwait(false);
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
                if (s.Parts.Contains("bulk"))
                {
                    var bulk = await ourClient.CommandAsync("bare-bulk", new() { ["port"] = sinkPort, ["bytes"] = s.BulkBytes }, ct: ct).ConfigureAwait(false);
                    if (bulk["match"]?.GetValue<bool>() != true)
                        throw new InvalidOperationException("Bare bulk: the sink counted another number of bytes.");
                    f.Add("floor.bulk", s.BulkBytes / 1e6 / ((double)bulk["ms"]! / 1000));
                }
            }
            if (manager)
                await RunManagerRoundAsync(s, ourClient, ManagerArgs(s.PingCount), f, ct).ConfigureAwait(false);
            Console.WriteLine($"{security} round {round + 1}/{s.Rounds} done (load average {LoadAverage()})");
        }
    }

    /// <summary>
    /// One round of part 'manager', our client agent against the manager in our server agent: the manager's PingAsync and
    /// its host's ping on the same connection across the two processes; the same with both managers in the client's
    /// process; and Test-QuDagPeer's wall time per ping (calls of 100 pings) beside the manager's from the same session.
    /// </summary>
    private static async Task RunManagerRoundAsync(Settings s, AgentProcess client, JsonObject args, Figures f, CancellationToken ct)
    {
        var cross = await client.CommandAsync("manager-ping", args, ct: ct).ConfigureAwait(false);
        AddManagerWay(f, "cross", cross);
        var inproc = await client.CommandAsync("inproc-ping", new() { ["n"] = s.PingCount }, ct: ct).ConfigureAwait(false);
        AddManagerWay(f, "inproc", inproc);
        var cmdlet = await client.CommandAsync("cmdlet-ping", args.DeepClone().AsObject(), TimeSpan.FromMinutes(5), ct).ConfigureAwait(false);
        // Per ping, all three as means of blocks of 100 (a call's wall time / 100 for the cmdlet), medians over the blocks.
        double perPing = Stats.Median(Numbers(cmdlet["cmdletPerPing"]!));
        double stackMean = Stats.Median(BlockMeans(Numbers(cmdlet["host"]!)));
        f.Add("cmdlet.perping", perPing);
        f.Add("cmdlet.manager.mean", Stats.Median(BlockMeans(Numbers(cmdlet["manager"]!))));
        f.Add("cmdlet.host.mean", stackMean);
        f.Add("cmdlet.vs.stack", perPing / stackMean);
        // Beyond the call's fixed cost: (a call of 100 - a call of 1) / 99, the cmdlet's own cost per ping.
        double oneCall = Stats.Median(Numbers(cmdlet["cmdletOneCall"]!));
        double marginal = (perPing * 100 - oneCall) / 99;
        f.Add("cmdlet.onecall", oneCall);
        f.Add("cmdlet.marginal", marginal);
        f.Add("cmdlet.marginal.vs.stack", marginal / stackMean);
    }

    private static void AddManagerWay(Figures f, string way, JsonObject answer)
    {
        var viaManager = Numbers(answer["manager"]!);
        var viaHost = Numbers(answer["host"]!);
        f.Add($"mgr.{way}.manager.p50", Stats.Median(viaManager));
        f.Add($"mgr.{way}.host.p50", Stats.Median(viaHost));
        f.Add($"mgr.{way}.ratio", Stats.Median(viaManager) / Stats.Median(viaHost));
        f.Add($"mgr.{way}.manager.bytes", (double)answer["managerBytes"]!);
        f.Add($"mgr.{way}.host.bytes", (double)answer["hostBytes"]!);
    }

    private static List<double> Numbers(JsonNode array) => array.AsArray().Select(n => (double)n!).ToList();

    // The means of consecutive blocks of 100 samples: a per-ping figure comparable with a call of 100 pings' wall time.
    private static List<double> BlockMeans(List<double> samples) => samples.Chunk(100).Select(b => b.Average()).ToList();

    /// <summary>
    /// Part 'messages', in this process: 64 B messages through the whole stack (two hosts here, TCP + Noise + yamux, one
    /// WriteAsync each) against the naive secure way (one sealed Noise frame and one socket write per message), the two
    /// alternating, batches of 10,000; nanoseconds per message, the round's median of its batches.
    /// </summary>
    private static async Task RunMessagesAsync(Settings s, Figures f)
    {
        var bench = new StackMessageBenchmarks();
        bench.Setup();
        try
        {
            int batches = s.Quick ? 2 : 30;
            for (int i = 0; i < batches; i++)
            {
                await bench.Stack64B().ConfigureAwait(false);
                await bench.NaiveSealedWritePerMessage().ConfigureAwait(false);
            }
            for (int round = 0; round < s.Rounds; round++)
            {
                var stack = new List<double>();
                var naive = new List<double>();
                for (int i = 0; i < batches; i++)
                {
                    long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    await bench.Stack64B().ConfigureAwait(false);
                    stack.Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalNanoseconds / StackMessageBenchmarks.Messages);
                    t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    await bench.NaiveSealedWritePerMessage().ConfigureAwait(false);
                    naive.Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalNanoseconds / StackMessageBenchmarks.Messages);
                }
                f.Add("msg.stack.ns", Stats.Median(stack));
                f.Add("msg.naive.ns", Stats.Median(naive));
                f.Add("msg.ratio", Stats.Median(naive) / Stats.Median(stack));
            }
            Console.WriteLine($"messages done (load average {LoadAverage()})");
        }
        finally
        {
            bench.Cleanup();
        }
    }

    private static async Task RunIdleAsync(Settings s, int count, Pair pair, Figures f, CancellationToken ct)
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
        var opened = await client.CommandAsync("idle", new() { ["addr"] = addr, ["n"] = count }, TimeSpan.FromMinutes(30), ct).ConfigureAwait(false);
        if ((int)opened["opened"]! != count)
            throw new InvalidOperationException($"Idle {pair}: opened {opened["opened"]} of {count}.");
        await WaitForConnectionsAsync(server, count, ct).ConfigureAwait(false);
        // Let identify and the first exchanges settle: the figure is of idle connections.
        await Task.Delay(TimeSpan.FromSeconds(s.Quick ? 0.2 : 2), ct).ConfigureAwait(false);
        var serverAfter = await server.CommandAsync("mem", ct: ct).ConfigureAwait(false);
        var clientAfter = await client.CommandAsync("mem", ct: ct).ConfigureAwait(false);
        if ((int)serverAfter["connections"]! < count || (int)clientAfter["connections"]! < count)
            throw new InvalidOperationException($"Idle {pair}: {clientAfter["connections"]} dialer and {serverAfter["connections"]} listener connections of {count}.");
        foreach (var (end, before, after, stack) in new[] { ("dialer", clientBefore, clientAfter, pair.Client), ("listener", serverBefore, serverAfter, pair.Server) })
        {
            f.Add($"idle.{count}.rss.{end}.{pair}", ((long)after["rss"]! - (long)before["rss"]!) / (double)count);
            f.Add($"idle.{count}.managed.{end}.{pair}", (Managed(after, stack) - Managed(before, stack)) / (double)count);
        }
        await client.CommandAsync("close-all", null, TimeSpan.FromMinutes(10), ct).ConfigureAwait(false);
        Console.WriteLine($"idle {count} {pair} done (load average {LoadAverage()})");
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
        Console.WriteLine($"| bare TCP (floor) | connect {F(f.Median("floor.connect.us") / 1000)} | | {F(f.Median("floor.ping.p50"), "0")} | {F(f.Median("floor.ping.p99"), "0")} | {F(f.Median("floor.bulk"), "0")} | |");
        Console.WriteLine();
        Console.WriteLine("ping through the manager and the module (ours <-> ours, noise; p50 in us, allocated bytes per ping):");
        Console.WriteLine("| way | ConnectionManager.PingAsync | its host's ping, same connection | ratio | bytes manager / host |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (way, name) in new[] { ("inproc", "both ends in one process"), ("cross", "across two processes") })
            Console.WriteLine($"| {name} | {F(f.Median($"mgr.{way}.manager.p50"), "0.0")} | {F(f.Median($"mgr.{way}.host.p50"), "0.0")} | {F(f.Median($"mgr.{way}.ratio"), "0.00")} (round ratios {f.Spread($"mgr.{way}.ratio")}) | {F(f.Median($"mgr.{way}.manager.bytes"), "0")} / {F(f.Median($"mgr.{way}.host.bytes"), "0")} |");
        Console.WriteLine($"Test-QuDagPeer -Count 100, wall time per ping: {F(f.Median("cmdlet.perping"), "0.0")} us; on the same connection, mean per ping: " +
                          $"the session's manager {F(f.Median("cmdlet.manager.mean"), "0.0")} us, the stack's ping {F(f.Median("cmdlet.host.mean"), "0.0")} us; " +
                          $"a call of one ping {F(f.Median("cmdlet.onecall"), "0.0")} us, so beyond a call's fixed cost {F(f.Median("cmdlet.marginal"), "0.0")} us per ping");
        Console.WriteLine();
        Console.WriteLine($"64 B messages, whole stack: {F(f.Median("msg.stack.ns"), "0")} ns per message; naive (one sealed frame + write each): {F(f.Median("msg.naive.ns"), "0")} ns");
        Console.WriteLine();
        Console.WriteLine("spread over rounds (min-max of the round figures):");
        foreach (var key in f.Rounds.Keys.Order())
            if (f.Spread(key) is { Length: > 0 } spread)
                Console.WriteLine($"  {key}: {spread}");
        foreach (int count in s.IdleCounts)
        {
            Console.WriteLine();
            Console.WriteLine($"| pair, {count} idle connections | dialer RSS KiB/conn | dialer managed KiB/conn | listener RSS KiB/conn | listener managed KiB/conn |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var p in Pairs)
                if (f.Rounds.ContainsKey($"idle.{count}.rss.dialer.{p}"))
                    Console.WriteLine($"| {p} | {F(f.Median($"idle.{count}.rss.dialer.{p}") / 1024, "0.0")} | {F(f.Median($"idle.{count}.managed.dialer.{p}") / 1024, "0.0")} | {F(f.Median($"idle.{count}.rss.listener.{p}") / 1024, "0.0")} | {F(f.Median($"idle.{count}.managed.listener.{p}") / 1024, "0.0")} |");
        }
        Console.WriteLine("(js's managed = V8 heapUsed + external, after global.gc(); ours = GC.GetTotalMemory after full compacting collections)");

        double hs = f.Median("floor.handshake.us"), aead = f.Median("floor.aead.us");
        double connect = f.Median("floor.connect.us"), barePing = f.Median("floor.ping.p50"), bareBulk = f.Median("floor.bulk");
        double setupOO = f.Median($"setup.noise.{OursOurs}") * 1000, setupJJ = f.Median($"setup.noise.{JsJs}") * 1000;
        double pingOO = f.Median($"ping.p50.{OursOurs}"), pingJJ = f.Median($"ping.p50.{JsJs}");
        double pingJO = f.Median($"ping.p50.{JsOurs}"), pingOJ = f.Median($"ping.p50.{OursJs}");
        // Two cores: one seals while the other opens, so the floor moves 64 KiB per max(seal, open) ~ (seal+open)/2.
        double aeadFloor = CryptoFloors.AeadSize / (aead / 2); // bytes per us = MB/s
        // A dial's negotiation, on top of the connect: multistream-select for the security protocol (one round trip) and
        // Noise XX's first two messages (one; the third goes out with no wait, and the muxer rides Noise's extensions).
        double setupFloor = hs + connect + 2 * barePing;
        Console.WriteLine();
        Console.WriteLine($"floors: handshake crypto {F(hs, "0.0")} us, bare connect {F(connect, "0.0")} us, bare ping p50 {F(barePing, "0.0")} us, " +
                          $"bare TCP bulk {F(bareBulk, "0")} MB/s, AEAD seal+open 64 KiB {F(aead, "0.0")} us = {F(aeadFloor, "0")} MB/s for 2 cores");
        Console.WriteLine();
        Console.WriteLine("| figure | target (issue 21) | measured | met |");
        Console.WriteLine("|---|---|---|---|");
        void Row(string figure, string target, double ratio, bool lessIsBetter, double bound, string measured)
        {
            string met = double.IsNaN(ratio) ? "-" : (lessIsBetter ? ratio <= bound : ratio >= bound) ? "met" : "missed";
            Console.WriteLine($"| {figure} | {target} | {measured} | {met} |");
        }
        Row("ping p50 ours<->ours", "<= 1.5x bare TCP ping-pong", pingOO / barePing, true, 1.5, $"{F(pingOO, "0")} us = {F(pingOO / barePing, "0.00")}x of {F(barePing, "0")} us");
        Row("ping p50 ours<->ours", "<= 0.25x js<->js", pingOO / pingJJ, true, 0.25, $"{F(pingOO / pingJJ)}x of {F(pingJJ, "0")} us");
        Row("ping p50 js dialing us", "<= 0.7x js<->js", pingJO / pingJJ, true, 0.7, $"{F(pingJO, "0")} us = {F(pingJO / pingJJ)}x");
        Row("ping p50 us dialing js", "<= 0.7x js<->js", pingOJ / pingJJ, true, 0.7, $"{F(pingOJ, "0")} us = {F(pingOJ / pingJJ)}x");
        foreach (var (way, name) in new[] { ("inproc", "in one process"), ("cross", "across processes") })
            Row($"ConnectionManager.PingAsync, {name}", "<= 1.1x the stack's ping", f.Median($"mgr.{way}.ratio"), true, 1.1,
                $"{F(f.Median($"mgr.{way}.manager.p50"), "0.0")} us = {F(f.Median($"mgr.{way}.ratio"), "0.00")}x of {F(f.Median($"mgr.{way}.host.p50"), "0.0")} us (p50, same connection)");
        Row("Test-QuDagPeer per ping, across processes", "<= 1.1x the stack's ping", f.Median("cmdlet.vs.stack"), true, 1.1,
            $"{F(f.Median("cmdlet.perping"), "0.0")} us = {F(f.Median("cmdlet.vs.stack"), "0.00")}x the stack's {F(f.Median("cmdlet.host.mean"), "0.0")} us (means per ping, same connection)");
        Row("Test-QuDagPeer per ping beyond a call's fixed cost", "<= 1.1x the stack's ping", f.Median("cmdlet.marginal.vs.stack"), true, 1.1,
            $"{F(f.Median("cmdlet.marginal"), "0.0")} us = {F(f.Median("cmdlet.marginal.vs.stack"), "0.00")}x (a call of 100 less a call of 1, {F(f.Median("cmdlet.onecall"), "0")} us, over 99)");
        foreach (string dir in new[] { "send", "fetch" })
        {
            double oo = f.Median($"bulk.{dir}.{OursOurs}"), jj = f.Median($"bulk.{dir}.{JsJs}");
            Row($"bulk {dir} ours<->ours", ">= 3x js<->js", oo / jj, false, 3, $"{F(oo, "0")} MB/s = {F(oo / jj, "0.00")}x of {F(jj, "0")}");
            Row($"bulk {dir} ours<->ours", ">= 1 GB/s", oo, false, 1000, $"{F(oo, "0")} MB/s = {F(100 * oo / bareBulk, "0")}% of bare TCP bulk ({F(bareBulk, "0")} MB/s), {F(100 * oo / aeadFloor, "0")}% of the AEAD floor");
        }
        foreach (int count in s.IdleCounts)
            foreach (string end in new[] { "dialer", "listener" })
            {
                double managed = f.Median($"idle.{count}.managed.{end}.{OursOurs}");
                double rssOurs = f.Median($"idle.{count}.rss.{end}.{OursOurs}"), rssJs = f.Median($"idle.{count}.rss.{end}.{JsJs}");
                Row($"idle, {count} connections, {end}", "<= 4 KiB managed", managed, true, 4096, $"{F(managed / 1024, "0.00")} KiB");
                Row($"idle, {count} connections, {end}", "RSS <= 0.5x js-libp2p's", rssOurs / rssJs, true, 0.5, $"{F(rssOurs / 1024, "0.0")} KiB = {F(rssOurs / rssJs, "0.00")}x of {F(rssJs / 1024, "0.0")} KiB");
            }
        Row("64 B messages through the stack", ">= 25x one sealed frame + write per message", f.Median("msg.ratio"), false, 25,
            $"{F(f.Median("msg.stack.ns"), "0")} ns = {F(f.Median("msg.ratio"), "0.0")}x faster than {F(f.Median("msg.naive.ns"), "0")} ns");
        Row("setup ours<->ours noise", "<= 1.3x (crypto + connect + 2 round trips)", setupOO / setupFloor, true, 1.3,
            $"{F(setupOO / 1000)} ms = {F(setupOO / setupFloor, "0.00")}x of {F(setupFloor, "0")} us ({F(hs, "0")} + {F(connect, "0")} + 2 x {F(barePing, "0")})");
        Row("setup ours<->ours noise", "<= 0.25x js<->js (issue 12)", setupOO / setupJJ, true, 0.25, $"{F(setupOO / 1000)} ms = {F(setupOO / setupJJ)}x of {F(setupJJ / 1000)} ms");
    }
}
