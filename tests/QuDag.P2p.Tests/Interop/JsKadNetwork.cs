using System.Text.Json;

namespace QuDag.P2p.Tests.Interop;

/// <summary>One js-libp2p kad-dht node as kad.mjs describes it.</summary>
public sealed record JsKadNode(int Index, string PeerId, IReadOnlyList<string> Addrs, string Mode)
{
    /// <summary>Its first listen address, ending in /p2p/&lt;id&gt;.</summary>
    public string Address => Addrs[0];
}

/// <summary>A peer and its addresses, as js's findPeer, getClosestPeers and findProviders answer them.</summary>
public sealed record JsPeerAddresses(string Peer, IReadOnlyList<string> Addrs);

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
    /// n &gt; 0 every n-th node is a DHT client (n = 10: a tenth).
    /// </summary>
    public async Task<IReadOnlyList<JsKadNode>> AddNodesAsync(int count, string topology = "none", int clientEvery = 0, int degree = 3,
        int seed = 1, string protocol = "/ipfs/kad/1.0.0", TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var reply = await _process.CommandAsync("start", new { count, topology, clientEvery, degree, seed, protocol }, timeout ?? TimeSpan.FromSeconds(120), ct)
            .ConfigureAwait(false);
        var added = Read<JsKadNode[]>(reply.GetProperty("nodes"));
        _nodes.AddRange(added);
        return added;
    }

    /// <summary>Node <paramref name="node"/> dials <paramref name="address"/> (a multiaddr ending in /p2p/&lt;id&gt;).</summary>
    public Task DialAsync(int node, string address, CancellationToken ct = default) =>
        _process.CommandAsync("dial", new { node, addr = address }, DefaultTimeout, ct);

    /// <summary>Whether node <paramref name="node"/> has a connection to <paramref name="peer"/>.</summary>
    public async Task<bool> IsConnectedAsync(int node, string peer, CancellationToken ct = default) =>
        (await _process.CommandAsync("connected", new { node, peer }, DefaultTimeout, ct).ConfigureAwait(false)).GetProperty("connected").GetBoolean();

    /// <summary>js's own peer routing: <c>peerRouting.findPeer</c> from node <paramref name="node"/>.</summary>
    public async Task<JsPeerAddresses> FindPeerAsync(int node, string peer, TimeSpan? timeout = null, CancellationToken ct = default) =>
        Read<JsPeerAddresses>(await _process.CommandAsync("findPeer", new { node, peer }, timeout ?? DefaultTimeout, ct).ConfigureAwait(false));

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
    /// js adds a peer to its table after identify and a ping, a moment after the connection: reads the tables until
    /// <paramref name="ready"/> holds, for at most <paramref name="timeout"/> (10 s by default), then throws.
    /// </summary>
    public async Task<IReadOnlyList<JsRoutingTable>> WaitForTablesAsync(Func<IReadOnlyList<JsRoutingTable>, bool> ready, TimeSpan? timeout = null,
        CancellationToken ct = default)
    {
        var limit = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
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
