using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using QuDag.Network;

namespace QuDag.Benchmarks;

/// <summary>
/// Group 5: many connections at once. The remote ends live in child processes (at most 5,000 nodes each: the
/// file-descriptor limit here is 20,000 per process), so the figures below are for this process's ends only.
/// </summary>
internal static class Scale
{
    private const int NodesPerProcess = 5_000;

    /// <param name="which">
    /// 'both' (the default) measures QuDag and then the bare pair, each in a fresh process of its own: memory a
    /// process has freed stays resident (glibc keeps freed chunks in its arenas, the GC keeps free regions), so a way
    /// measured after another in the same process reuses it and looks cheaper. 'one-process' is the first harness
    /// (QuDag, then bare, in this process); 'qudag' and 'bare' measure one way here.
    /// </param>
    /// <summary>Runs <paramref name="mode"/> once per way, each in a fresh process of its own (so no way inherits
    /// the memory or the pools another left behind); stops at the first that fails.</summary>
    internal static async Task<int> RunWaysAsync(string mode, int count, string[] ways)
    {
        foreach (var way in ways)
        {
            using var run = StartSelf([mode, count.ToString(), way], redirectInput: false);
            await run.WaitForExitAsync();
            if (run.ExitCode != 0)
                return run.ExitCode;
        }
        return 0;
    }

    public static async Task<int> RunAsync(int connections, string which = "both")
    {
        if (which == "both")
            return await RunWaysAsync("scale", connections, ["qudag", "bare"]);
        var children = new List<Process>();
        try
        {
            var peers = which is "qudag" or "one-process" ? await StartPeersAsync(connections, children) : null;
            var bareEndPoint = which is "bare" or "one-process" ? await StartBarePeerAsync(children) : null;

            Console.WriteLine($"connections={connections} cores={Environment.ProcessorCount} remote ends in {children.Count} child processes; " +
                $"this process: {which}, pid {Environment.ProcessId}");
            if (peers is not null)
                await MeasureManagerAsync(peers);
            if (bareEndPoint is not null)
                await MeasureBareAsync(bareEndPoint, connections);
            return 0;
        }
        finally
        {
            StopChildren(children);
        }
    }

    /// <summary>Starts child processes holding <paramref name="connections"/> listening nodes; returns their ids and endpoints.</summary>
    /// <param name="quiet">Nodes without keepalive: 5,000 nodes in one process each run their keepalive timer (and ping
    /// their peer every 15 s), a background load a real peer spreads over its own machine; 'expire' measures the close alone.</param>
    internal static async Task<List<(PeerId Id, IPEndPoint EndPoint)>> StartPeersAsync(int connections, List<Process> children, bool quiet = false)
    {
        var peers = new List<(PeerId Id, IPEndPoint EndPoint)>();
        for (var left = connections; left > 0; left -= NodesPerProcess)
        {
            var count = Math.Min(NodesPerProcess, left).ToString();
            var child = quiet ? StartSelf("peers", count, "quiet") : StartSelf("peers", count);
            children.Add(child);
            await foreach (var line in ReadUntilReadyAsync(child))
            {
                var parts = line.Split(' ');
                peers.Add((PeerId.Parse(parts[0]), IPEndPoint.Parse(parts[1])));
            }
        }
        return peers;
    }

    /// <summary>Starts the bare TLS server child; returns its endpoint.</summary>
    internal static async Task<IPEndPoint> StartBarePeerAsync(List<Process> children, bool resume = true)
    {
        var child = resume ? StartSelf("bare-peer") : StartSelf("bare-peer", "noresume");
        children.Add(child);
        IPEndPoint endPoint = null!;
        await foreach (var line in ReadUntilReadyAsync(child))
            endPoint = IPEndPoint.Parse(line);
        return endPoint;
    }

    internal static void StopChildren(List<Process> children)
    {
        foreach (var child in children)
        {
            child.StandardInput.Close(); // the children exit when their input closes
            if (!child.WaitForExit(TimeSpan.FromSeconds(60)))
                child.Kill(entireProcessTree: true);
        }
    }

    /// <summary>The pool timeout of the manager whose idle connections the scale and expire groups let expire.</summary>
    internal static readonly TimeSpan ExpiryPoolTimeout = TimeSpan.FromMinutes(1);

    /// <summary>That manager's settings: it holds <paramref name="maxConnections"/> and expires them on a fake clock.</summary>
    internal static ConnectionManagerOptions ExpiringOptions(int maxConnections, FakeTimeProvider time) => new()
    {
        MaxConnections = maxConnections,
        PoolTimeout = ExpiryPoolTimeout,
        TimeProvider = time,
        ConnectTimeout = TimeSpan.FromMinutes(10),
        // The fake clock jumps a whole pool timeout: keepalive would PING every connection on the way.
        KeepAliveInterval = TimeSpan.Zero,
    };

    private static async Task MeasureManagerAsync(List<(PeerId Id, IPEndPoint EndPoint)> peers)
    {
        var n = peers.Count;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var timeout = ExpiryPoolTimeout;
        await using var manager = new ConnectionManager(ExpiringOptions(n, time));
        var before = Snapshot();
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(peers, new ParallelOptions { MaxDegreeOfParallelism = 64 },
            async (peer, ct) => await manager.ConnectAsync(peer.Id, peer.EndPoint, ct));
        var connectTime = watch.Elapsed;
        var active = Snapshot();
        Report($"QuDag active   ({n} open in {connectTime.TotalSeconds:0.0} s)", before, active, n);

        foreach (var peer in peers)
            await manager.DisconnectAsync(peer.Id);
        var idle = Snapshot();
        Report($"QuDag idle     ({manager.GetPooledConnections().Count} pooled)", before, idle, n);
        Trimmed(before, n);

        time.Advance(timeout + IdlePool.ScanInterval(timeout));
        watch.Restart();
        while (manager.OpenConnections > 0)
            await Task.Delay(1);
        Console.WriteLine($"closing {n} expired idle connections took {watch.Elapsed.TotalMilliseconds:0} ms");
    }

    private static async Task MeasureBareAsync(IPEndPoint endPoint, int n)
    {
        using var identity = NodeIdentity.Create();
        var options = TlsSettings.Client(identity);
        var streams = new System.Net.Security.SslStream[n];
        var before = Snapshot();
        await Parallel.ForAsync(0, n, new ParallelOptions { MaxDegreeOfParallelism = 64 },
            async (i, _) => streams[i] = await BareTlsServer.ConnectAsync(endPoint, options));
        // Like the manager's idle connections, each keeps a zero-byte read pending.
        var pending = streams.Select(s => s.ReadAsync(Memory<byte>.Empty).AsTask()).ToArray();
        var after = Snapshot();
        Report("bare SslStream", before, after, n);
        Trimmed(before, n);
        foreach (var s in streams)
            await s.DisposeAsync();
        await Task.WhenAll(pending.Select(p => p.ContinueWith(_ => { }, TaskScheduler.Default)));
    }

    private static (long Managed, long Rss, NativeMemory.Breakdown Native) Snapshot()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        using var self = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: true), self.WorkingSet64, NativeMemory.ReadSelf());
    }

    private static void Report(string what, (long Managed, long Rss, NativeMemory.Breakdown Native) before,
        (long Managed, long Rss, NativeMemory.Breakdown Native) after, int n)
    {
        Console.WriteLine($"{what,-40} managed {(after.Managed - before.Managed) / (double)n / 1024:0.00} KiB/conn  " +
            $"RSS {(after.Rss - before.Rss) / (double)n / 1024:0.0} KiB/conn");
        NativeMemory.Report("where (smaps):", before.Native, after.Native, n);
    }

    /// <summary>After malloc_trim(0): what of the RSS was free memory glibc kept in its arenas (this ends the measurement).</summary>
    private static void Trimmed((long Managed, long Rss, NativeMemory.Breakdown Native) before, int n)
    {
        var untrimmed = NativeMemory.ReadSelf();
        NativeMemory.MallocTrim(0);
        var trimmed = NativeMemory.ReadSelf();
        Console.WriteLine($"  after malloc_trim(0):   RSS {(trimmed.Rss - before.Rss) / (double)n / 1024:0.0} KiB/conn " +
            $"(malloc {(trimmed.Malloc - before.Native.Malloc) / (double)n / 1024:0.0}; returned {(untrimmed.Rss - trimmed.Rss) >> 20} MiB)");
    }

    internal static Process StartSelf(params string[] args) => StartSelf(args, redirectInput: true);

    /// <param name="args">The mode and its arguments.</param>
    /// <param name="redirectInput">True for the remote-end children (their input and output are ours to read); false
    /// runs a mode whose output goes straight to ours.</param>
    internal static Process StartSelf(string[] args, bool redirectInput)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardInput = redirectInput, RedirectStandardOutput = redirectInput };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            start.ArgumentList.Add(typeof(Scale).Assembly.Location);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        // Under `dotnet-trace collect -- ...` this process was started suspended on a diagnostic port; a child
        // that inherited the variable would suspend too, waiting for a tracer that never comes.
        start.Environment.Remove("DOTNET_DiagnosticPorts");
        return Process.Start(start)!;
    }

    private static async IAsyncEnumerable<string> ReadUntilReadyAsync(Process child)
    {
        while (await child.StandardOutput.ReadLineAsync() is { } line && line != "READY")
            yield return line;
    }

    /// <summary>Child: <paramref name="count"/> listening nodes; prints "peerId endpoint" each, then READY; exits when input closes.</summary>
    public static async Task<int> ServePeersAsync(int count, bool quiet = false)
    {
        var nodes = new ConnectionManager[count];
        for (var i = 0; i < count; i++)
        {
            var options = new ConnectionManagerOptions { MaxConnections = 4 };
            if (quiet)
                options.KeepAliveInterval = TimeSpan.Zero;
            nodes[i] = new ConnectionManager(options);
            var listener = await nodes[i].ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
            Console.WriteLine($"{nodes[i].LocalPeerId} {listener.LocalEndPoint}");
        }
        Console.WriteLine("READY");
        await ProcessCounters.ServeUntilInputEndsAsync();
        // Under profile.sh (the gate variable is inherited) a trace of this process ends when it exits: leave at once
        // rather than trace the teardown of every node.
        if (Environment.GetEnvironmentVariable("QUDAG_PROFILE_GATE") is { Length: > 0 })
            Environment.Exit(0);
        await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
        return 0;
    }

    /// <summary>Child: a bare TLS server that holds every connection open; prints its endpoint, then READY.</summary>
    public static async Task<int> ServeBareAsync(bool resume = true)
    {
        using var identity = NodeIdentity.Create();
        var options = TlsSettings.Server(identity);
        // 'noresume': the server issues no TLS 1.3 session tickets, so no record arrives after the handshake.
        options.AllowTlsResume = resume;
        await using var server = new BareTlsServer(identity, BareTlsServer.DrainAsync, options);
        Console.WriteLine(server.EndPoint);
        Console.WriteLine("READY");
        await ProcessCounters.ServeUntilInputEndsAsync();
        return 0;
    }
}
