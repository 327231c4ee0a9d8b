using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Threading.Channels;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Protocols.Gossipsub;
using QuDag.P2p.Tests.Interop;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>
/// gossip [--nodes 20] [--messages 100] [--heartbeat-ms 200] [--throughput N] [--memory-peers N] [--only latency,throughput,memory]
///   latency:    our router joins a mesh of --nodes js gossipsub nodes (one process) through 3 of them, 5 more dial in;
///               per round our node publishes one message and a js node we are not connected to publishes one; the
///               latency of each is taken at every js receiver (js's clock: performance.timeOrigin + now(), ms since the
///               epoch; ours: the wall clock at the publish call), so both are measured by the same receivers.
///   throughput: two of our routers over loopback; one publishes N 64 B messages as fast as Publish returns, the other
///               validates (signature, id, seen cache) and delivers them; messages/s end to end, and the sign and verify floors.
///   memory:     managed bytes our router holds per topic peer: N bare hosts connect and subscribe (they only read), measured
///               after full collections with and without the router.
/// </summary>
public static class GossipBenchmark
{
    private const string Topic = "qudag/bench";

    public static async Task<int> RunAsync(string[] args)
    {
        int Arg(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        string only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault() ?? "latency,throughput,memory";
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}; load average at start: {JsCompare.LoadAverage()}");
        if (only.Contains("latency"))
            await LatencyAsync(Arg("--nodes", 20), Arg("--messages", 100), Arg("--heartbeat-ms", 200));
        if (only.Contains("throughput"))
            await ThroughputAsync(Arg("--throughput", 20_000));
        if (only.Contains("memory"))
            await MemoryAsync(Arg("--memory-peers", 100));
        Console.WriteLine($"load average at end: {JsCompare.LoadAverage()}");
        return 0;
    }

    private static async Task LatencyAsync(int nodes, int messages, int heartbeatMs)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var ct = cts.Token;
        await using var mesh = await JsGossipMesh.StartAsync(nodes, [Topic], heartbeatMs, ct);
        await using var host = new P2pHost(new P2pHostOptions { Security = [SecurityProtocols.Noise] });
        await using var router = new GossipRouter(host.Identity, new GossipsubOptions
        {
            MessageId = MessageIdFunctions.Js,
            HeartbeatInterval = TimeSpan.FromMilliseconds(heartbeatMs),
        });
        using var attachment = GossipsubAttachment.Attach(host, router);
        var listener = await host.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), ct);
        router.Subscribe(Topic);
        await mesh.LatticeAsync(2, ct);
        int[] dialed = [0, nodes / 3, 2 * nodes / 3];
        foreach (int i in dialed)
            await host.DialAsync(Multiaddr.Parse(mesh.Nodes[i].Address), ct);
        foreach (int i in Enumerable.Range(0, nodes).Where(i => !dialed.Contains(i)).Take(5))
            await mesh.DialAsync(i, listener.Addresses[0].ToString(), ct);
        while (router.GetTopic(Topic) is not { MeshPeers.Count: >= 5 })
            await Task.Delay(heartbeatMs, ct);
        await Task.Delay(5 * heartbeatMs, ct); // let the js meshes settle
        int jsPublisher = Enumerable.Range(0, nodes).First(i => router.GetPeers().All(p => p.PeerId.ToString() != mesh.Nodes[i].PeerId));
        var ourPublished = new Dictionary<string, double>();
        var jsPublished = new Dictionary<string, double>();
        for (int round = 0; round < messages; round++)
        {
            string ours = $"ours-{round}", theirs = $"js-{round}";
            ourPublished[ours] = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).TotalMilliseconds;
            router.Publish(Topic, System.Text.Encoding.UTF8.GetBytes(ours));
            jsPublished[theirs] = (await mesh.PublishAsync(jsPublisher, Topic, System.Text.Encoding.UTF8.GetBytes(theirs), ct)).At;
            await Task.Delay(20, ct);
        }
        await Task.Delay(10 * heartbeatMs, ct);
        var received = await mesh.ReceivedAsync(Topic, ct);
        var oursLatency = new List<double>();
        var jsLatency = new List<double>();
        int oursDelivered = 0, jsDelivered = 0;
        for (int n = 0; n < received.Count; n++)
        {
            foreach (var m in received[n])
            {
                string text = System.Text.Encoding.UTF8.GetString(m.Data);
                if (ourPublished.TryGetValue(text, out double at)) { oursLatency.Add(m.At - at); oursDelivered++; }
                else if (n != jsPublisher && jsPublished.TryGetValue(text, out at)) { jsLatency.Add(m.At - at); jsDelivered++; }
            }
        }
        Console.WriteLine($"gossip latency, {nodes} js nodes + ours, heartbeat {heartbeatMs} ms, {messages} messages each way:");
        Console.WriteLine($"  ours publishing: delivered {oursDelivered} of {messages * nodes}, p50 {Stats.Median(oursLatency):0.00} ms, p95 {Stats.Percentile(oursLatency, 95):0.00} ms");
        Console.WriteLine($"  js publishing:   delivered {jsDelivered} of {messages * (nodes - 1)}, p50 {Stats.Median(jsLatency):0.00} ms, p95 {Stats.Percentile(jsLatency, 95):0.00} ms (js receivers only)");
        Console.WriteLine($"  our mesh: {router.GetTopic(Topic)!.MeshPeers.Count} peers; invalid at js: {(await mesh.StatsAsync(Topic, ct)).Sum(s => s.Invalid)}");
    }

    private static async Task ThroughputAsync(int count)
    {
        using var identity = NodeIdentity.Create();
        var payload = new byte[64];
        var signed = PubsubMessage.Sign(identity, Topic, payload, 1);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 2000; i++)
            PubsubMessage.Sign(identity, Topic, payload, (ulong)i);
        double signPerSecond = 2000 / sw.Elapsed.TotalSeconds;
        sw.Restart();
        for (int i = 0; i < 2000; i++)
            signed.Validate();
        double verifyPerSecond = 2000 / sw.Elapsed.TotalSeconds;

        await using var a = await Node.StartAsync(new GossipsubOptions { MaxQueuedBytesPerPeer = 64 * 1024 * 1024 });
        await using var b = await Node.StartAsync(new GossipsubOptions());
        a.Router.Subscribe(Topic);
        b.Router.Subscribe(Topic);
        await a.Host.DialAsync(b.Address);
        while (!(b.Router.GetTopic(Topic)?.MeshPeers.Count == 1 && a.Router.GetTopic(Topic)?.Subscribers.Count == 1))
            await Task.Delay(10);
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        sw.Restart();
        for (int i = 0; i < count; i++)
            a.Router.Publish(Topic, payload);
        double publishSeconds = sw.Elapsed.TotalSeconds;
        for (int i = 0; i < count; i++)
            await b.Received.Reader.ReadAsync();
        double total = sw.Elapsed.TotalSeconds;
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        Console.WriteLine($"gossip throughput, 64 B messages, {count} through one mesh link:");
        Console.WriteLine($"  publish (sign + queue): {count / publishSeconds:N0} msg/s; published and validated at the receiver: {count / total:N0} msg/s; CPU {cpu * 1e6 / count:0} us per message (both ends)");
        Console.WriteLine($"  floors on this machine: Ed25519 sign {signPerSecond:N0}/s, verify {verifyPerSecond:N0}/s");
    }

    private static async Task MemoryAsync(int peers)
    {
        await using var ours = await Node.StartAsync(new GossipsubOptions(), attach: false);
        var remotes = new List<P2pHost>();
        try
        {
            for (int i = 0; i < peers; i++)
            {
                var remote = new P2pHost(new P2pHostOptions { Security = [SecurityProtocols.Noise], IdentifyOnConnect = false });
                remote.SetStreamHandler(GossipsubProtocol.MeshsubV11, async (stream, _, ct) =>
                {
                    while (await GossipsubProtocol.ReadRpcAsync(stream, 1 << 20, RpcLimits.Default, ct) is not null) { }
                });
                remotes.Add(remote);
                await remote.DialAsync(ours.Address);
            }
            var (before, _) = ProcessMemory.Measure();
            using var attachment = GossipsubAttachment.Attach(ours.Host, ours.Router);
            ours.Router.Subscribe(Topic);
            // Each remote announces the topic on a stream of its own, as a real peer would.
            var streams = new List<MuxedStream>();
            foreach (var remote in remotes)
            {
                var connection = remote.Connections.Single();
                var stream = await connection.OpenStreamAsync(GossipsubProtocol.MeshsubV11, CancellationToken.None);
                await stream.WriteAsync(GossipsubProtocol.Frame(new PubsubRpc { Subscriptions = [new SubscriptionOption(true, Topic)] }));
                streams.Add(stream);
            }
            while (ours.Router.GetTopic(Topic)?.Subscribers.Count != peers || ours.Router.GetPeers().Any(p => p.Protocol is null))
                await Task.Delay(20);
            await Task.Delay(500);
            var (after, _) = ProcessMemory.Measure();
            Console.WriteLine($"gossip memory: {peers} topic peers, managed {(after - before) / (double)peers / 1024:0.0} KiB per peer " +
                "(the router's peer state, its writer, both ends of one stream each way: the remotes are in this process)");
            GC.KeepAlive(streams);
        }
        finally
        {
            foreach (var remote in remotes)
                await remote.DisposeAsync();
        }
    }

    private sealed class Node : IAsyncDisposable
    {
        public required P2pHost Host { get; init; }
        public required GossipRouter Router { get; init; }
        public required Multiaddr Address { get; init; }
        public GossipsubAttachment? Attachment { get; init; }
        public Channel<GossipDelivery> Received { get; } = Channel.CreateUnbounded<GossipDelivery>();

        public static async Task<Node> StartAsync(GossipsubOptions options, bool attach = true)
        {
            var host = new P2pHost(new P2pHostOptions { Security = [SecurityProtocols.Noise] });
            var router = new GossipRouter(host.Identity, options);
            var listener = await host.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
            var node = new Node { Host = host, Router = router, Address = listener.Addresses[0], Attachment = attach ? GossipsubAttachment.Attach(host, router) : null };
            router.MessageDelivered += d => node.Received.Writer.TryWrite(d);
            return node;
        }

        public async ValueTask DisposeAsync()
        {
            Attachment?.Dispose();
            await Router.DisposeAsync();
            await Host.DisposeAsync();
        }
    }
}
