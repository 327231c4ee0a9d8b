using System.Text.Json;
using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Kad.Routing;

namespace QuDag.P2p.Tests.Interop;

/// <summary>One js-libp2p kad-dht node as kad.mjs describes it.</summary>
public sealed record JsKadNode(int Index, string PeerId, IReadOnlyList<string> Addrs, string Mode)
{
    /// <summary>Its first listen address, ending in /p2p/&lt;id&gt;.</summary>
    public string Address => Addrs[0];
}

/// <summary>A peer and its addresses, as js's findPeer, getClosestPeers and findProviders answer them (findPeer also its time in js, <paramref name="Ms"/>).</summary>
public sealed record JsPeerAddresses(string Peer, IReadOnlyList<string> Addrs, double Ms = 0);

/// <summary>One node's routing table as js holds it (peer ids), for comparing a crawl against.</summary>
public sealed record JsRoutingTable(int Index, string PeerId, string Mode, IReadOnlyList<string> Peers);

/// <summary>
/// Many unmodified js-libp2p nodes running @libp2p/kad-dht 16.x in ONE child process (tests/interop/kad.mjs), in a
/// chain, a random graph or unconnected, with every n-th node a DHT client. Every js setting a loopback network needs
/// is in the script: server mode, the passthrough address mapper, raised inbound-connection limits. Disposing it stops
/// every node and the process.
/// </summary>
public sealed class JsKadNetwork : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private readonly JsNode _process;
    private readonly List<JsKadNode> _nodes = [];

    private JsKadNetwork(JsNode process) => _process = process;

    /// <summary>The nodes started so far, by index.</summary>
    public IReadOnlyList<JsKadNode> Nodes => _nodes;

    public JsKadNode this[int index] => _nodes[index];

    /// <summary>What js logged to stderr lately (for failure messages).</summary>
    public string StderrTail => _process.StderrTail;

    /// <summary>Starts the process with no nodes yet.</summary>
    public static async Task<JsKadNetwork> StartAsync(CancellationToken ct = default) =>
        new(await JsNode.StartScriptAsync("kad.mjs", [], "libp2p:*:error", JsNodeOptions.DefaultStartTimeout, ct).ConfigureAwait(false));

    /// <summary>
    /// Adds <paramref name="count"/> nodes and wires them: "chain" (node i dials node i+1), "random" (each dials
    /// <paramref name="degree"/> others chosen from <paramref name="seed"/>) or "none". With <paramref name="clientEvery"/>
    /// n &gt; 0 every n-th node is a DHT client (n = 10: a tenth). With <paramref name="selfQuery"/> false the nodes never
    /// look themselves up (js's self-query would otherwise meet, and dial, the peers nearest them on its own).
    /// </summary>
    public async Task<IReadOnlyList<JsKadNode>> AddNodesAsync(int count, string topology = "none", int clientEvery = 0, int degree = 3,
        int seed = 1, string protocol = "/ipfs/kad/1.0.0", bool selfQuery = true, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var reply = await _process.CommandAsync("start", new { count, topology, clientEvery, degree, seed, protocol, selfQuery }, timeout ?? TimeSpan.FromSeconds(120), ct)
            .ConfigureAwait(false);
        var added = Read<JsKadNode[]>(reply.GetProperty("nodes"));
        _nodes.AddRange(added);
        return added;
    }

    /// <summary>
    /// Adds <paramref name="count"/> nodes wired as a chain that js's own lookup can walk end to end, and returns them in
    /// chain order: every hop is nearer (XOR) to the last node than the hop before it. js follows a peer an answer names
    /// only when it is closer to the target than the peer that named it (kad-dht's query-path.js), so in a chain of
    /// random ids js's findPeer of the far end fails whenever the distances do not fall along it (measured: it failed in
    /// exactly the runs where they did not). Each node has its neighbours in its table when this returns.
    /// </summary>
    public async Task<IReadOnlyList<JsKadNode>> AddWalkableChainAsync(int count, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        var added = await AddNodesAsync(count, ct: ct).ConfigureAwait(false);
        var target = KadKey.ForPeer(PeerId.Parse(added[0].PeerId));
        var chain = added.Skip(1)
            .OrderByDescending(n => KadKey.ForPeer(PeerId.Parse(n.PeerId)).DistanceTo(target))
            .Append(added[0])
            .ToArray();
        for (int i = 0; i < chain.Length - 1; i++)
            await DialAsync(chain[i].Index, chain[i + 1].Address, ct).ConfigureAwait(false);
        await WaitForTablesAsync(tables => Enumerable.Range(0, chain.Length - 1).All(i =>
            tables[chain[i].Index].Peers.Contains(chain[i + 1].PeerId) && tables[chain[i + 1].Index].Peers.Contains(chain[i].PeerId)), ct: ct).ConfigureAwait(false);
        return chain;
    }

    /// <summary>Node <paramref name="node"/> dials <paramref name="address"/> (a multiaddr ending in /p2p/&lt;id&gt;).</summary>
    public Task DialAsync(int node, string address, CancellationToken ct = default) =>
        _process.CommandAsync("dial", new { node, addr = address }, DefaultTimeout, ct);

    /// <summary>Whether node <paramref name="node"/> has a connection to <paramref name="peer"/>.</summary>
    public async Task<bool> IsConnectedAsync(int node, string peer, CancellationToken ct = default) =>
        (await _process.CommandAsync("connected", new { node, peer }, DefaultTimeout, ct).ConfigureAwait(false)).GetProperty("connected").GetBoolean();

    /// <summary>
    /// js's own peer routing: <c>peerRouting.findPeer</c> from node <paramref name="node"/>; with
    /// <paramref name="useCache"/> false it skips js's peer store and always walks the DHT.
    /// </summary>
    public async Task<JsPeerAddresses> FindPeerAsync(int node, string peer, TimeSpan? timeout = null, bool useCache = true, CancellationToken ct = default) =>
        Read<JsPeerAddresses>(await _process.CommandAsync("findPeer", new { node, peer, useCache, timeoutMs = (int)(timeout ?? DefaultTimeout).TotalMilliseconds },
            (timeout ?? DefaultTimeout) + TimeSpan.FromSeconds(5), ct).ConfigureAwait(false));

    /// <summary>js's <c>getClosestPeers</c> walk for a peer id's key.</summary>
    public async Task<IReadOnlyList<JsPeerAddresses>> GetClosestPeersAsync(int node, string peer, TimeSpan? timeout = null, CancellationToken ct = default) =>
        Read<JsPeerAddresses[]>((await _process.CommandAsync("getClosestPeers", new { node, peer }, timeout ?? DefaultTimeout, ct).ConfigureAwait(false)).GetProperty("peers"));

    /// <summary>js puts a record: <paramref name="key"/> must start with /test/ (the namespace kad.mjs validates).</summary>
    public Task PutAsync(int node, string key, string value, CancellationToken ct = default) =>
        _process.CommandAsync("put", new { node, key, value }, DefaultTimeout, ct);

    /// <summary>js gets a record's value (text).</summary>
    public async Task<string> GetAsync(int node, string key, CancellationToken ct = default) =>
        (await _process.CommandAsync("get", new { node, key }, DefaultTimeout, ct).ConfigureAwait(false)).GetProperty("value").GetString() ?? "";

    /// <summary>js provides the CIDv1 (raw, sha2-256) of <paramref name="data"/>; returns the CID's multihash (the DHT key) in hex.</summary>
    public async Task<string> ProvideAsync(int node, string data, CancellationToken ct = default) =>
        (await _process.CommandAsync("provide", new { node, data }, DefaultTimeout, ct).ConfigureAwait(false)).GetProperty("multihash").GetString() ?? "";

    /// <summary>js looks for up to <paramref name="count"/> providers of the CID of <paramref name="data"/>.</summary>
    public async Task<IReadOnlyList<JsPeerAddresses>> FindProvidersAsync(int node, string data, int count = 1, CancellationToken ct = default) =>
        Read<JsPeerAddresses[]>((await _process.CommandAsync("findProviders", new { node, data, count }, DefaultTimeout, ct).ConfigureAwait(false)).GetProperty("providers"));

    /// <summary>Node <paramref name="node"/>'s routing table (peer ids).</summary>
    public async Task<IReadOnlyList<string>> RoutingTableAsync(int node, CancellationToken ct = default) =>
        Read<string[]>((await _process.CommandAsync("routingTable", new { node }, DefaultTimeout, ct).ConfigureAwait(false)).GetProperty("peers"));

    /// <summary>Every node's routing table.</summary>
    public async Task<IReadOnlyList<JsRoutingTable>> RoutingTablesAsync(CancellationToken ct = default) =>
        Read<JsRoutingTable[]>((await _process.CommandAsync("routingTables", null, DefaultTimeout, ct).ConfigureAwait(false)).GetProperty("tables"));

    /// <summary>
    /// js adds a peer to its table after identify and a ping, a moment after the connection (seconds under load):
    /// reads the tables until <paramref name="ready"/> holds, for at most <paramref name="timeout"/> (60 s by default:
    /// a bound, not a wait; it returns as soon as the tables are there), then throws.
    /// </summary>
    public async Task<IReadOnlyList<JsRoutingTable>> WaitForTablesAsync(Func<IReadOnlyList<JsRoutingTable>, bool> ready, TimeSpan? timeout = null,
        CancellationToken ct = default)
    {
        var limit = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var tables = await RoutingTablesAsync(ct).ConfigureAwait(false);
            if (ready(tables))
                return tables;
            if (DateTime.UtcNow > limit)
                throw new JsNodeException("js's routing tables did not get there in time: " + string.Join("; ", tables.Select(t => $"{t.Index}:{t.Peers.Count}")));
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Stops one node (its listener and connections go away; its index stays taken).</summary>
    public Task StopNodeAsync(int node, CancellationToken ct = default) => _process.CommandAsync("stopNode", new { node }, DefaultTimeout, ct);

    private static T Read<T>(JsonElement element) =>
        element.Deserialize<T>(JsonSerializerOptions.Web) ?? throw new JsNodeException($"kad.mjs answered null for {typeof(T).Name}.");

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
