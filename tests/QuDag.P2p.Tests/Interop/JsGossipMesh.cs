using System.Globalization;
using System.Text.Json;

namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// Many unmodified js-libp2p gossipsub nodes (@libp2p/gossipsub 17.1.1) in one child process (tests/interop/gossip.mjs),
/// each subscribed to the given topics before anything dials. Every wait is bounded; the process dies with this object.
/// </summary>
public sealed class JsGossipMesh : IAsyncDisposable
{
    private readonly JsNode _process;

    private JsGossipMesh(JsNode process)
    {
        _process = process;
        Nodes = [.. process.ReadyLine.GetProperty("nodes").EnumerateArray().Select(n => new JsGossipNode(
            n.GetProperty("index").GetInt32(), n.GetProperty("peerId").GetString()!, n.GetProperty("addrs")[0].GetString()!))];
    }

    /// <summary>The nodes, in index order.</summary>
    public IReadOnlyList<JsGossipNode> Nodes { get; }

    /// <summary>The js process's stderr tail, for failure messages.</summary>
    public string StderrTail => _process.StderrTail;

    public static async Task<JsGossipMesh> StartAsync(int nodes, IReadOnlyList<string> topics, int heartbeatMs, CancellationToken ct, bool floodPublish = true)
    {
        var arguments = new List<string> { "--nodes", nodes.ToString(CultureInfo.InvariantCulture), "--heartbeat-ms", heartbeatMs.ToString(CultureInfo.InvariantCulture),
            "--flood-publish", floodPublish ? "true" : "false" };
        foreach (var topic in topics)
            arguments.AddRange(["--topic", topic]);
        var process = await JsNode.StartScriptAsync("gossip.mjs", arguments, "libp2p:*:error", TimeSpan.FromSeconds(60), ct);
        return new JsGossipMesh(process);
    }

    /// <summary>Node i dials nodes i+1 .. i+degree (mod n): 2 x degree connections each.</summary>
    public Task LatticeAsync(int degree, CancellationToken ct) => _process.CommandAsync("lattice", new { degree }, TimeSpan.FromSeconds(60), ct);

    public Task DialAsync(int node, string address, CancellationToken ct) => _process.CommandAsync("dial", new { node, addr = address }, null, ct);

    public Task SubscribeAsync(int node, string topic, CancellationToken ct) => _process.CommandAsync("subscribe", new { node, topic }, null, ct);

    public Task UnsubscribeAsync(int node, string topic, CancellationToken ct) => _process.CommandAsync("unsubscribe", new { node, topic }, null, ct);

    /// <summary>Publishes from node <paramref name="node"/>; returns the peers js sent it to and js's clock at the publish (ms since the epoch).</summary>
    public async Task<(IReadOnlyList<string> Recipients, double At)> PublishAsync(int node, string topic, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var reply = await _process.CommandAsync("publish", new { node, topic, data = Convert.ToHexStringLower(data.Span) }, null, ct);
        return ([.. reply.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()!)], reply.GetProperty("at").GetDouble());
    }

    public async Task<IReadOnlyList<JsGossipNodeStats>> StatsAsync(string topic, CancellationToken ct)
    {
        var reply = await _process.CommandAsync("stats", new { topic }, null, ct);
        return [.. reply.GetProperty("nodes").EnumerateArray().Select(n => new JsGossipNodeStats(
            n.GetProperty("index").GetInt32(), n.GetProperty("peerId").GetString()!, n.GetProperty("running").GetBoolean(),
            Strings(n.GetProperty("mesh")), Strings(n.GetProperty("subscribers")), Strings(n.GetProperty("peers")),
            n.GetProperty("received").GetInt32(), n.GetProperty("invalid").GetDouble(), n.GetProperty("invalidReasons").ToString()))];
    }

    /// <summary>What each node received on <paramref name="topic"/>: payloads and js's receive times (ms since the epoch).</summary>
    public async Task<IReadOnlyList<IReadOnlyList<JsGossipMessage>>> ReceivedAsync(string topic, CancellationToken ct)
    {
        var reply = await _process.CommandAsync("received", new { topic }, null, ct);
        return [.. reply.GetProperty("nodes").EnumerateArray().Select(n => (IReadOnlyList<JsGossipMessage>)[.. n.GetProperty("messages").EnumerateArray().Select(m =>
            new JsGossipMessage(Convert.FromHexString(m.GetProperty("data").GetString()!), m.GetProperty("from").GetString(), m.GetProperty("at").GetDouble()))])];
    }

    public Task ClearAsync(CancellationToken ct) => _process.CommandAsync("clear", null, null, ct);

    public Task StopNodeAsync(int node, CancellationToken ct) => _process.CommandAsync("stopNode", new { node }, null, ct);

    public Task HangUpAsync(int node, string peer, CancellationToken ct) => _process.CommandAsync("hangup", new { node, peer }, null, ct);

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

/// <summary>One js node of a <see cref="JsGossipMesh"/>.</summary>
public sealed record JsGossipNode(int Index, string PeerId, string Address);

/// <summary>A js node's view of a topic: its mesh, the subscribers it knows, its connections, what it received and rejected.</summary>
public sealed record JsGossipNodeStats(int Index, string PeerId, bool Running, string[] Mesh, string[] Subscribers, string[] Peers,
    int Received, double Invalid, string InvalidReasons);

/// <summary>A message a js node received.</summary>
public sealed record JsGossipMessage(byte[] Data, string? From, double At);
