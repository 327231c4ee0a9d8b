using System.Globalization;
using System.Text.Json;

namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// Many plain unmodified js-libp2p nodes (TCP, Noise, yamux, identify, ping; dial-only) in one child process
/// (tests/interop/swarm.mjs): many remote peers for one node of ours, and streams held open from one of them. Every wait
/// is bounded; the process dies with this object.
/// </summary>
public sealed class JsSwarm : IAsyncDisposable
{
    private readonly JsNode _process;

    private JsSwarm(JsNode process)
    {
        _process = process;
        PeerIds = [.. process.ReadyLine.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("peerId").GetString()!)];
    }

    /// <summary>The nodes' peer ids, in index order.</summary>
    public IReadOnlyList<string> PeerIds { get; }

    /// <summary>The js process's stderr tail, for failure messages.</summary>
    public string StderrTail => _process.StderrTail;

    public static async Task<JsSwarm> StartAsync(int nodes, CancellationToken ct) =>
        new(await JsNode.StartScriptAsync("swarm.mjs", ["--nodes", nodes.ToString(CultureInfo.InvariantCulture)], "libp2p:*:error",
            TimeSpan.FromSeconds(90), ct));

    /// <summary>Every node (or those in <paramref name="nodes"/>) dials <paramref name="address"/>, at most
    /// <paramref name="concurrency"/> at a time; the errors of those that failed.</summary>
    public async Task<IReadOnlyList<string>> DialAllAsync(string address, int concurrency, CancellationToken ct, IReadOnlyList<int>? nodes = null)
    {
        var reply = await _process.CommandAsync("dialAll", new { addr = address, concurrency, nodes }, TimeSpan.FromSeconds(120), ct);
        return [.. reply.GetProperty("results").EnumerateArray().Where(r => !r.GetProperty("ok").GetBoolean())
            .Select(r => $"node {r.GetProperty("index").GetInt32()}: {r.GetProperty("error").GetString()}")];
    }

    /// <summary>Per node (in index order), the peers it has an open connection to.</summary>
    public async Task<IReadOnlyList<IReadOnlyList<string>>> ConnectionsAsync(CancellationToken ct)
    {
        var reply = await _process.CommandAsync("connections", null, null, ct);
        return [.. reply.GetProperty("nodes").EnumerateArray().Select(n => (IReadOnlyList<string>)[.. n.GetProperty("peers").EnumerateArray().Select(p => p.GetString()!)])];
    }

    /// <summary>Node <paramref name="node"/> opens <paramref name="count"/> streams of <paramref name="protocol"/> to a peer at once and keeps them.</summary>
    public async Task<JsStreamCounts> HoldAsync(int node, string peer, string protocol, int count, CancellationToken ct) =>
        Counts(await _process.CommandAsync("hold", new { node, peer, protocol, count }, null, ct), "opened");

    /// <summary>One ping round trip on every held stream of the node, all at once.</summary>
    public async Task<JsStreamCounts> PingHeldAsync(int node, CancellationToken ct) =>
        Counts(await _process.CommandAsync("pingHeld", new { node }, TimeSpan.FromSeconds(20), ct), "succeeded");

    public Task ReleaseAsync(int node, CancellationToken ct) => _process.CommandAsync("release", new { node }, null, ct);

    private static JsStreamCounts Counts(JsonElement reply, string succeeded) => new(reply.GetProperty(succeeded).GetInt32(),
        reply.GetProperty("failed").GetInt32(), [.. reply.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!)]);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

/// <summary>How many streams of a js command succeeded and failed, and the failures' text.</summary>
public sealed record JsStreamCounts(int Succeeded, int Failed, IReadOnlyList<string> Errors);
