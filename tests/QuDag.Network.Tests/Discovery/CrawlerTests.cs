using System.Net;
using System.Net.Sockets;
using QuDag.Network.Discovery;
using QuDag.P2p;
using QuDag.P2p.Host;
using QuDag.P2p.Upgrade;

namespace QuDag.Network.Tests.Discovery;

/// <summary>
/// The crawler's visits over real loopback sockets to real libp2p hosts of ours: dial, identify, DHT mode, the walk,
/// the frontier, identity changes, failures and bounds. The kad answers come from tables the test holds (each host
/// that serves kad is asked on a real negotiated stream first); the wire itself is proven against js in the
/// acceptance tests.
/// </summary>
public sealed class CrawlerTests
{
    private const string Kad = "/ipfs/kad/1.0.0";

    /// <summary>A loopback network of hosts; servers announce kad, and their tables are the test's.</summary>
    private sealed class Network : IAsyncDisposable
    {
        public List<P2pHost> Hosts { get; } = [];
        public Dictionary<PeerId, Multiaddr> Addresses { get; } = [];
        public Dictionary<PeerId, List<PeerId>> Tables { get; } = [];
        public int KadStreams;

        public async Task<P2pHost> AddAsync(bool server, string agent)
        {
            var host = new P2pHost(new P2pHostOptions { AgentVersion = agent });
            if (server)
                host.SetStreamHandler(Kad, (stream, _, _) => { Interlocked.Increment(ref KadStreams); return Task.CompletedTask; });
            var listener = await host.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
            Hosts.Add(host);
            Addresses[host.LocalPeerId] = listener.Addresses[0].WithoutPeerId();
            Tables[host.LocalPeerId] = [];
            return host;
        }

        /// <summary>FIND_NODE as a remote answers it: a real kad stream is negotiated (refused by a client), then its table's k closest.</summary>
        public async Task<IReadOnlyList<CrawlContact>> FindNodeAsync(P2pConnection connection, string protocol, byte[] key, CancellationToken ct)
        {
            await using (await connection.OpenStreamAsync(protocol, ct))
            {
            }
            var x = KadKeySpace.PositionOf(key);
            return Tables[connection.RemotePeer]
                .OrderBy(p => KadKeySpace.PositionOf(p.Bytes), Comparer<byte[]>.Create((a, b) => Distance(a, x).CompareTo(Distance(b, x))))
                .Take(20)
                .Select(p => new CrawlContact(p, Addresses.TryGetValue(p, out var a) ? [a] : []))
                .ToList();
        }

        /// <summary>A host's multiaddr ending in its /p2p id: what a bootstrap list names.</summary>
        public Multiaddr AddressOf(P2pHost host) => Addresses[host.LocalPeerId].WithPeerId(host.LocalPeerId);

        /// <summary>A crawler that asks this network's tables.</summary>
        public Crawler Crawler(CrawlerOptions? options = null) => new(options ?? new CrawlerOptions(), FindNodeAsync);

        private static System.Numerics.BigInteger Distance(byte[] a, byte[] x) =>
            new(a.Zip(x, (p, q) => (byte)(p ^ q)).ToArray(), isUnsigned: true, isBigEndian: true);

        public async ValueTask DisposeAsync()
        {
            foreach (var host in Hosts)
                await host.DisposeAsync();
        }
    }

    private static async Task<List<CrawlResult>> CrawlAsync(Crawler crawler, params Multiaddr[] bootstrap)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var results = new List<CrawlResult>();
        await foreach (var result in crawler.CrawlAsync(bootstrap, cts.Token))
            results.Add(result);
        return results;
    }

    [Fact]
    public async Task Finds_every_peer_a_chain_of_tables_names_with_its_identify_data_mode_and_neighbours()
    {
        await using var network = new Network();
        var servers = new List<P2pHost>();
        for (int i = 0; i < 8; i++)
            servers.Add(await network.AddAsync(server: true, agent: $"server-{i}"));
        var client = await network.AddAsync(server: false, agent: "client");
        // A chain: each server knows only the next; the last knows the client (a client is in no table in practice,
        // but a table may name any peer it once heard of).
        for (int i = 0; i < servers.Count - 1; i++)
            network.Tables[servers[i].LocalPeerId].Add(servers[i + 1].LocalPeerId);
        network.Tables[servers[^1].LocalPeerId].Add(client.LocalPeerId);

        await using var crawler = network.Crawler();
        var results = await CrawlAsync(crawler, network.AddressOf(servers[0]));

        Assert.Equal(network.Hosts.Count, results.Count);
        Assert.Equal(network.Hosts.Select(h => h.LocalPeerId).ToHashSet(), results.Select(r => r.PeerId).ToHashSet());
        foreach (var result in results)
        {
            Assert.True(result.Dialable);
            Assert.Equal(CrawlError.None, result.Error);
            Assert.Equal("/qudag/1.0.0", result.ProtocolVersion);
            Assert.Contains("/ipfs/id/1.0.0", result.Protocols);
            Assert.Contains(network.Addresses[result.PeerId], result.Addresses);
            Assert.Equal(network.Addresses[result.PeerId], result.DialedAddress);
            Assert.True(result.ConnectMs > 0 && result.CrawlMs >= result.ConnectMs);
            Assert.Equal(network.Tables[result.PeerId].ToHashSet(), result.Neighbours.ToHashSet());
        }
        var clientResult = results.Single(r => r.PeerId == client.LocalPeerId);
        Assert.Equal("client", clientResult.AgentVersion);
        Assert.Equal(CrawlDhtMode.Client, clientResult.DhtMode);
        Assert.Equal(1, clientResult.Requests); // asked while identify was on its way, and refused
        Assert.False(clientResult.RoutingTableComplete);
        Assert.All(results.Where(r => r.PeerId != client.LocalPeerId), r =>
        {
            Assert.Equal(CrawlDhtMode.Server, r.DhtMode);
            Assert.True(r.RoutingTableComplete);
            Assert.StartsWith("server-", r.AgentVersion);
        });
        Assert.Equal(results.Where(r => r.DhtMode == CrawlDhtMode.Server).Sum(r => r.Requests), network.KadStreams);
        Assert.Equal(new CrawlProgress(9, 9, 0, 9, 0), crawler.Progress);
        // Every visit closed its connection.
        await Wait.UntilAsync(() => network.Hosts.All(h => h.Connections.Count == 0), "every crawled host sees its connection closed");
    }

    [Fact]
    public async Task A_client_mode_bootstrap_is_a_dialable_result_with_DhtMode_Client()
    {
        await using var network = new Network();
        var client = await network.AddAsync(server: false, agent: "qudag-like");
        await using var crawler = network.Crawler();

        // No /p2p part: the crawl learns who answers.
        var result = Assert.Single(await CrawlAsync(crawler, network.Addresses[client.LocalPeerId]));

        Assert.Equal(client.LocalPeerId, result.PeerId);
        Assert.True(result.Dialable);
        Assert.Equal(CrawlDhtMode.Client, result.DhtMode);
        Assert.Equal(CrawlError.None, result.Error);
        Assert.Empty(result.Neighbours);
        Assert.Equal(0, network.KadStreams); // its one FIND_NODE stream was refused, never served
        Assert.Equal(1, result.Requests);
    }

    [Fact]
    public async Task An_address_answering_with_a_new_peer_id_shows_both_the_old_id_and_the_new_one()
    {
        await using var network = new Network();
        var bootstrap = await network.AddAsync(server: true, agent: "bootstrap");
        var restarted = await network.AddAsync(server: false, agent: "restarted");
        // The table names a peer that used to be at the restarted node's address, with its old key.
        var oldId = PeerId.FromPublicKey(NodeIdentity.Create().PublicKey);
        network.Addresses[oldId] = network.Addresses[restarted.LocalPeerId];
        network.Tables[bootstrap.LocalPeerId].Add(oldId);

        await using var crawler = network.Crawler();
        var results = await CrawlAsync(crawler, network.AddressOf(bootstrap));

        var old = results.Single(r => r.PeerId == oldId);
        Assert.False(old.Dialable);
        Assert.Equal(CrawlError.IdentityMismatch, old.Error);
        Assert.Equal(restarted.LocalPeerId, old.AnsweredBy);
        Assert.Equal(network.Addresses[restarted.LocalPeerId], old.DialedAddress);
        var now = results.Single(r => r.PeerId == restarted.LocalPeerId);
        Assert.True(now.Dialable);
        Assert.Equal("restarted", now.AgentVersion);
        Assert.Equal(network.Addresses[restarted.LocalPeerId], now.DialedAddress);
        Assert.Equal(3, results.Count);
    }

    [Fact]
    public async Task A_peer_whose_port_is_closed_is_refused_and_one_without_a_tcp_address_is_undialable()
    {
        await using var network = new Network();
        var bootstrap = await network.AddAsync(server: true, agent: "bootstrap");
        var gone = PeerId.FromPublicKey(NodeIdentity.Create().PublicKey);
        var quicOnly = PeerId.FromPublicKey(NodeIdentity.Create().PublicKey);
        network.Addresses[gone] = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{ClosedPort()}");
        network.Addresses[quicOnly] = Multiaddr.Parse("/ip4/127.0.0.1") /* no transport we dial, as a quic-only peer */;
        network.Tables[bootstrap.LocalPeerId].AddRange([gone, quicOnly]);

        await using var crawler = network.Crawler();
        var results = await CrawlAsync(crawler, network.AddressOf(bootstrap));

        var refused = results.Single(r => r.PeerId == gone);
        Assert.False(refused.Dialable);
        Assert.Equal(CrawlError.Refused, refused.Error);
        Assert.Equal(CrawlDhtMode.Unknown, refused.DhtMode);
        var undialable = results.Single(r => r.PeerId == quicOnly);
        Assert.Equal(CrawlError.NoDialableAddress, undialable.Error);
        Assert.Equal(new CrawlProgress(3, 1, 0, 3, 0), crawler.Progress);
    }

    [Fact]
    public async Task A_bare_bootstrap_address_that_never_answers_is_reported_as_a_bootstrap_failure()
    {
        await using var crawler = new Crawler(new CrawlerOptions(), (_, _, _, _) => throw new InvalidOperationException("not asked"));
        var address = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{ClosedPort()}");

        Assert.Empty(await CrawlAsync(crawler, address));

        var failure = Assert.Single(crawler.BootstrapFailures);
        Assert.Equal(address, failure.Address);
        Assert.Equal(CrawlError.Refused, failure.Error);
    }

    [Fact]
    public async Task The_frontier_stops_at_MaxPeers_and_counts_the_peers_it_turned_away()
    {
        await using var network = new Network();
        var bootstrap = await network.AddAsync(server: true, agent: "bootstrap");
        // A table naming 50 peers that do not exist (a forged one): only MaxPeers - 1 of them are visited.
        for (int i = 0; i < 50; i++)
        {
            var fake = PeerId.FromPublicKey(NodeIdentity.Create().PublicKey);
            network.Addresses[fake] = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{ClosedPort()}");
            network.Tables[bootstrap.LocalPeerId].Add(fake);
        }

        await using var crawler = network.Crawler(new CrawlerOptions { MaxPeers = 10 });
        var results = await CrawlAsync(crawler, network.AddressOf(bootstrap));

        Assert.Equal(10, results.Count);
        Assert.Equal(10, crawler.Progress.Known);
        Assert.Equal(41, crawler.Progress.Dropped); // 50 named, 9 taken beside the bootstrap
        // The bootstrap's table is still read whole: the cap bounds the visits, not what a result reports.
        Assert.Equal(50, results.Single(r => r.PeerId == bootstrap.LocalPeerId).Neighbours.Count);
    }

    [Fact]
    public async Task Stopping_the_enumeration_stops_the_crawl_and_closes_its_connections()
    {
        await using var network = new Network();
        for (int i = 0; i < 6; i++)
            await network.AddAsync(server: true, agent: $"s{i}");
        var ids = network.Hosts.Select(h => h.LocalPeerId).ToList();
        foreach (var id in ids)
            network.Tables[id].AddRange(ids.Where(o => o != id));
        var stalled = new TaskCompletionSource();
        int asked = 0;
        // Every FIND_NODE after the bootstrap's hangs until cancelled: the crawl is mid-visit when we stop reading.
        Task<IReadOnlyList<CrawlContact>> FindNode(P2pConnection c, string p, byte[] k, CancellationToken ct) =>
            Interlocked.Increment(ref asked) == 1 ? network.FindNodeAsync(c, p, k, ct) : Hang(ct);
        async Task<IReadOnlyList<CrawlContact>> Hang(CancellationToken ct)
        {
            stalled.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return [];
        }

        await using var crawler = new Crawler(new CrawlerOptions(), FindNode);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var first in crawler.CrawlAsync([network.Addresses[ids[0]].WithPeerId(ids[0])], cts.Token))
        {
            await stalled.Task.WaitAsync(cts.Token);
            break;
        }

        Assert.Equal(0, crawler.Progress.Pending);
        await Wait.UntilAsync(() => network.Hosts.All(h => h.Connections.Count == 0), "every crawled host sees its connection closed");
        // The crawler can crawl again.
        Assert.NotEmpty(await CrawlAsync(crawler, network.Addresses[ids[1]].WithPeerId(ids[1])));
    }

    [Fact]
    public void Options_out_of_range_are_refused_when_the_crawler_is_made()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Crawler(new CrawlerOptions { Concurrency = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Crawler(new CrawlerOptions { RequestTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Crawler(new CrawlerOptions { MaxDepth = 25 }));
    }

    private static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
