using QuDag.Network.Discovery;

namespace QuDag.Network.Tests.Discovery;

/// <summary>
/// The walk reads every entry of a remote's routing table through FIND_NODE alone, whatever the table's shape, in a
/// number of requests that grows with the table (about two per k entries), and stops at its caps.
/// </summary>
public sealed class RoutingTableWalkTests
{
    private const int K = 20;

    private static RoutingTableWalk Walk(int maxRequests = 256, int maxDepth = 16) => new(K, maxDepth, maxRequests, parallelRequests: 4, maxNeighbours: 10_000);

    public static TheoryData<string, int> Shapes => new()
    {
        { "buckets", 5 }, { "buckets", 100 }, { "buckets", 1_000 }, { "buckets", 20_000 },
        { "trie", 5 }, { "trie", 100 }, { "trie", 1_000 }, { "trie", 5_000 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Reads_every_entry_of_a_table(string shape, int networkSize)
    {
        var random = new Random(networkSize * 31 + shape.Length);
        var peers = SimulatedTable.RandomPeers(networkSize + 1, random);
        var table = shape == "trie" ? SimulatedTable.Trie(peers[0], peers[1..]) : SimulatedTable.Buckets(peers[0], peers[1..]);

        var outcome = await Walk().RunAsync(table.FindNodeAsync, CancellationToken.None);

        Assert.True(outcome.Complete);
        Assert.Equal(table.Entries.Order(PeerIdComparer), outcome.Neighbours.Select(n => n.PeerId).Order(PeerIdComparer));
        Assert.Equal(0, outcome.FailedRequests);
        Assert.Equal(table.Requests, outcome.Requests);
        // Nebula's fixed sweep costs 16 requests and misses most of a big js table; this costs what the table holds.
        Assert.True(outcome.Requests <= 4 + 3 * table.Entries.Count / K, $"{outcome.Requests} requests for {table.Entries.Count} entries");
    }

    [Fact]
    public async Task A_fixed_sweep_of_prefix_lengths_misses_most_of_a_full_js_table()
    {
        // Why the walk exists: Nebula's sweep (one random key per common prefix length with the owner, 0..15) reads a
        // bucket table whole, but a js trie keeps up to 6 levels of full leaves on the far side too.
        var random = new Random(7);
        var peers = SimulatedTable.RandomPeers(2_001, random);
        var table = SimulatedTable.Trie(peers[0], peers[1..]);
        var seen = new HashSet<PeerId>();
        for (int cpl = 0; cpl <= 15; cpl++)
        {
            var key = KadKeySpace.RandomKeyIn(KadKeySpace.WithBitFlipped(table.OwnerPosition, cpl), cpl + 1);
            foreach (var contact in await table.FindNodeAsync(key, CancellationToken.None))
                seen.Add(contact.PeerId);
        }
        Assert.True(seen.Count < table.Entries.Count / 2, $"the sweep saw {seen.Count} of {table.Entries.Count}");

        var outcome = await Walk().RunAsync(table.FindNodeAsync, CancellationToken.None);
        Assert.Equal(table.Entries.Count, outcome.Neighbours.Count);
    }

    [Fact]
    public async Task Stops_at_the_request_cap_and_says_the_table_is_not_complete()
    {
        var peers = SimulatedTable.RandomPeers(3_001, new Random(3));
        var table = SimulatedTable.Trie(peers[0], peers[1..]);

        var outcome = await Walk(maxRequests: 10).RunAsync(table.FindNodeAsync, CancellationToken.None);

        Assert.Equal(10, outcome.Requests);
        Assert.Equal(10, table.Requests);
        Assert.False(outcome.Complete);
        Assert.InRange(outcome.Neighbours.Count, K, 10 * K);
    }

    [Fact]
    public async Task A_table_of_forged_deep_ids_stops_at_the_depth_cap()
    {
        // A hostile remote answers every key with k ids that share a long prefix with it, so every answer seems to
        // leave the whole sibling ladder unread: the walk stops at its depth cap instead of hashing for ever.
        int requests = 0;
        Task<IReadOnlyList<CrawlContact>> Hostile(byte[] key, CancellationToken ct)
        {
            requests++;
            var x = KadKeySpace.PositionOf(key);
            IReadOnlyList<CrawlContact> closer = Enumerable.Range(0, K)
                .Select(_ => new CrawlContact(ForgedNear(x, depth: 8), []))
                .ToList();
            return Task.FromResult(closer);
        }

        var outcome = await Walk(maxRequests: 1_000, maxDepth: 6).RunAsync(Hostile, CancellationToken.None);

        Assert.False(outcome.Complete);
        // Each region below the cap is asked once: 2^6 of them at most, however the answers are forged.
        Assert.InRange(outcome.Requests, 2, 64);
        Assert.Equal(requests, outcome.Requests);
    }

    [Fact]
    public async Task A_remote_that_fails_every_request_is_left_after_the_first_wave()
    {
        int requests = 0;
        Task<IReadOnlyList<CrawlContact>> Failing(byte[] key, CancellationToken ct)
        {
            requests++;
            return Task.FromException<IReadOnlyList<CrawlContact>>(new IOException("reset"));
        }

        var outcome = await Walk().RunAsync(Failing, CancellationToken.None);

        Assert.Equal(1, requests);
        Assert.False(outcome.Complete);
        Assert.IsType<IOException>(outcome.FirstError);
        Assert.Empty(outcome.Neighbours);
    }

    [Fact]
    public async Task An_answer_longer_than_k_counts_as_k()
    {
        var peers = SimulatedTable.RandomPeers(10_000, new Random(11));
        Task<IReadOnlyList<CrawlContact>> Flood(byte[] key, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<CrawlContact>>(peers.Select(p => new CrawlContact(p, [])).ToList());

        var outcome = await Walk(maxRequests: 8).RunAsync(Flood, CancellationToken.None);

        // Every answer is the same 10,000 peers: only the first k of them are taken in.
        Assert.Equal(K, outcome.Neighbours.Count);
    }

    [Fact]
    public void Keys_fall_in_the_region_asked_for()
    {
        var prefix = KadKeySpace.PositionOf("some peer"u8);
        for (int depth = 0; depth <= 12; depth++)
        {
            var key = KadKeySpace.RandomKeyIn(prefix, depth);
            Assert.Equal(34, key.Length);
            Assert.True(PeerId.TryFromBytes(key, out _, out _));
            Assert.True(KadKeySpace.CommonPrefixLength(KadKeySpace.PositionOf(key), prefix) >= depth);
        }
    }

    [Fact]
    public void Common_prefix_length_counts_leading_equal_bits()
    {
        byte[] a = new byte[32], b = new byte[32];
        Assert.Equal(256, KadKeySpace.CommonPrefixLength(a, b));
        b[0] = 0x80;
        Assert.Equal(0, KadKeySpace.CommonPrefixLength(a, b));
        b[0] = 0x01;
        Assert.Equal(7, KadKeySpace.CommonPrefixLength(a, b));
        b[0] = 0;
        b[3] = 0x10;
        Assert.Equal(27, KadKeySpace.CommonPrefixLength(a, b));
        Assert.Equal(3, KadKeySpace.CommonPrefixLength(a, KadKeySpace.WithBitFlipped(a, 3)));
    }

    private static PeerId ForgedNear(byte[] position, int depth)
    {
        var key = KadKeySpace.RandomKeyIn(position, depth);
        return PeerId.FromBytes(key);
    }

    private static readonly Comparer<PeerId> PeerIdComparer = Comparer<PeerId>.Create((a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
}
