using System.Net;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Kad;
using QuDag.P2p.Protocols.Kad.Routing;

namespace QuDag.P2p.Tests.Protocols;

/// <summary>
/// Lookups over disjoint paths (S/Kademlia 4.4) among our own nodes over loopback: a DHT whose nearest nodes never met
/// the target (one path stops without it, two find it), no peer asked by two paths, and each path's bounds against
/// peers that answer with made-up peers. Each server counts the kad streams opened to it (refresh and replication are
/// off, so only the querier opens any).
/// </summary>
public sealed class KadDisjointPathsTests
{
    private static readonly KadOptions Quiet = new() { RefreshInterval = TimeSpan.Zero, ReplicationInterval = TimeSpan.Zero };

    /// <summary>One of our servers whose kad handler counts the streams opened to it.</summary>
    private sealed class Node : IAsyncDisposable
    {
        private int _asked;

        private Node(P2pHost host, KadDht dht, Multiaddr address) => (Host, Dht, Address) = (host, dht, address);

        public P2pHost Host { get; }
        public KadDht Dht { get; }
        public Multiaddr Address { get; }
        public PeerId Id => Host.LocalPeerId;
        public int Asked => Volatile.Read(ref _asked);

        public static async Task<Node> StartAsync(KadOptions? options = null)
        {
            var host = new P2pHost();
            var listener = await host.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
            var dht = new KadDht(host.LocalPeerId, new HostKadNetwork(host), options ?? Quiet);
            var node = new Node(host, dht, listener.Addresses[0].WithoutPeerId());
            host.SetStreamHandler(dht.Options.ProtocolId, (stream, connection, ct) =>
            {
                Interlocked.Increment(ref node._asked);
                return dht.ServeAsync(stream, connection, ct);
            });
            return node;
        }

        public void Knows(Node other) => Assert.Equal(RoutingTableUpdate.Added, Dht.AddPeer(other.Id, [other.Address], IPAddress.Loopback));

        public async ValueTask DisposeAsync()
        {
            await Dht.DisposeAsync();
            await Host.DisposeAsync();
        }
    }

    private static async Task<Node[]> StartAsync(int count) => await Task.WhenAll(Enumerable.Range(0, count).Select(_ => Node.StartAsync()));

    private static async Task DisposeAllAsync(IEnumerable<Node> nodes)
    {
        foreach (var node in nodes)
            await node.DisposeAsync();
    }

    private static KadDistance Distance(PeerId peer, KadKey target) => KadKey.ForPeer(peer).DistanceTo(target);

    // The querier knows S0 and S1 (S0 nearer the target), or only B, who knows both. S0 knows C0 and C1, nearer still,
    // who know nobody; S1 knows X, who knows the target. With k = 2 and alpha 1, one path asks S0, C0 and C1, whose two
    // nearest have then answered: it ends without the target. A second path starts from S1 (a seed, or the second peer
    // B names when B is the only seed), and X names the target.
    [Theory]
    [InlineData(1, false, false)]
    [InlineData(2, false, true)]
    [InlineData(1, true, false)]
    [InlineData(2, true, true)]
    public async Task A_target_known_only_off_the_nearest_path_is_found_by_a_second_path_and_missed_by_one(int paths, bool oneSeed, bool found)
    {
        var target = await Node.StartAsync();
        var key = KadKey.ForPeer(target.Id);
        var others = (await StartAsync(6)).OrderBy(n => Distance(n.Id, key)).ToArray();
        var (c0, c1, s0, s1, x, b) = (others[0], others[1], others[2], others[3], others[4], others[5]);
        s0.Knows(c0);
        s0.Knows(c1);
        s1.Knows(x);
        x.Knows(target);
        b.Knows(s0);
        b.Knows(s1);
        await using var host = new P2pHost();
        await using var querier = new KadDht(host.LocalPeerId, new HostKadNetwork(host), Quiet with { K = 2, Alpha = 1, DisjointPaths = paths });
        foreach (var seed in oneSeed ? [b] : new[] { s0, s1 })
            querier.AddPeer(seed.Id, [seed.Address], IPAddress.Loopback);
        try
        {
            var peer = await querier.FindPeerAsync(target.Id);

            if (!found)
            {
                Assert.Null(peer);
                Assert.Equal([1, 1, 1, 0, 0], [s0.Asked, c0.Asked, c1.Asked, s1.Asked, x.Asked]); // one path, and it ended complete
                Assert.Equal(0, querier.Counters.Failed);
                return;
            }
            Assert.Equal(target.Address, Assert.Single(peer!.Addresses));
            Assert.Equal([1, 1], [s1.Asked, x.Asked]);
            Assert.All(others, n => Assert.InRange(n.Asked, 0, 1));
            var connection = await host.DialAsync(peer.Addresses[0].WithPeerId(target.Id)); // the address found is the target's
            Assert.Equal(target.Id, connection.RemotePeer);
        }
        finally
        {
            await DisposeAllAsync([target, .. others]);
        }
    }

    [Fact]
    public async Task No_peer_is_asked_by_two_paths_and_the_result_is_the_k_nearest_over_all_paths()
    {
        var nodes = await StartAsync(12);
        foreach (var node in nodes)
        {
            foreach (var other in nodes.Where(o => o != node))
                node.Knows(other);
        }
        await using var host = new P2pHost();
        await using var querier = new KadDht(host.LocalPeerId, new HostKadNetwork(host), Quiet with { K = 4, DisjointPaths = 4 });
        foreach (var node in nodes)
            querier.AddPeer(node.Id, [node.Address], IPAddress.Loopback);
        try
        {
            byte[] key = KadDhtTests.RandomPeer().Bytes.ToArray();
            var closest = await querier.GetClosestPeersAsync(key);

            // Every node names the others, so without disjointness each path would ask the seeds of the other three.
            Assert.All(nodes, n => Assert.InRange(n.Asked, 0, 1));
            Assert.Equal(querier.Counters.Sent, nodes.Sum(n => n.Asked));
            var target = KadKey.FromBytes(key);
            var nearest = nodes.Select(n => n.Id).OrderBy(id => Distance(id, target)).Take(4);
            Assert.Equal(nearest, closest.Select(p => p.Id));
        }
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [Fact]
    public async Task Each_path_is_bounded_against_peers_that_answer_with_1300_made_up_peers()
    {
        // Three hostile peers, each a path's seed, answer every request with 1,300 new made-up peers at a closed
        // loopback port (each dial is refused at once).
        var hostile = new List<(P2pHost Host, Multiaddr Address)>();
        int[] asked = new int[3];
        for (int i = 0; i < 3; i++)
        {
            var h = new P2pHost();
            var listener = await h.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
            int index = i;
            h.SetStreamHandler(KadProtocol.DefaultId, async (stream, _, ct) =>
            {
                Interlocked.Increment(ref asked[index]);
                await KadProtocol.ReadAsync(stream, 4096, ct);
                var fake = new KadMessage
                {
                    Type = KadMessageType.FindNode,
                    CloserPeers = [.. Enumerable.Range(0, 1300).Select(_ => new KadPeer(KadDhtTests.RandomPeer(), [Multiaddr.Parse("/ip4/127.0.0.1/tcp/1")]))],
                };
                await KadProtocol.WriteAsync(stream, fake, ct);
            });
            hostile.Add((h, listener.Addresses[0].WithoutPeerId()));
        }
        await using var host = new P2pHost(new P2pHostOptions { ConnectTimeout = TimeSpan.FromSeconds(2) });
        await using var querier = new KadDht(host.LocalPeerId, new HostKadNetwork(host), Quiet with { DisjointPaths = 3 });
        foreach (var (h, address) in hostile)
            querier.AddPeer(h.LocalPeerId, [address], IPAddress.Loopback);
        try
        {
            var closest = await querier.GetClosestPeersAsync(KadDhtTests.RandomPeer().Bytes.ToArray());

            // Each hostile peer is asked once, by its own path; each path asks at most the k nearest of what it was told.
            Assert.Equal([1, 1, 1], asked);
            Assert.InRange(querier.Counters.Sent, 3, 3 * (1 + querier.Options.K));
            Assert.Equal(querier.Counters.Sent - 3, querier.Counters.Failed);
            Assert.Equal(hostile.Select(h => h.Host.LocalPeerId).ToHashSet(), closest.Select(p => p.Id).ToHashSet());
            Assert.Equal(3, querier.RoutingTable.Count); // none of the inventions entered the table
            Assert.Equal(0, querier.RoutingTable.PendingCount);
        }
        finally
        {
            foreach (var (h, _) in hostile)
                await h.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(KadOptions.MaxDisjointPaths + 1)]
    public void DisjointPaths_outside_its_range_is_refused(int paths)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new KadOptions { DisjointPaths = paths }.Validate());
        Assert.Equal(nameof(KadOptions.DisjointPaths), error.ParamName);
        new KadOptions { K = 2, DisjointPaths = KadOptions.MaxDisjointPaths }.Validate(); // more paths than seeds: answers start them
    }
}
