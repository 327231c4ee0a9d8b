using System.Security.Cryptography;
using QuDag.Network.Discovery;

namespace QuDag.Network.Tests.Discovery;

/// <summary>
/// Routing tables of the two shapes real DHTs keep, answering FIND_NODE as they do (the k closest entries to the key's
/// SHA-256 by XOR, the asker excluded): rust's and go's, one bucket of k per common prefix length with the owner; and
/// js-libp2p kad-dht 16's, a trie whose full leaves split at any position until depth 6 (its prefixLength), then drop.
/// </summary>
internal sealed class SimulatedTable
{
    private readonly List<(PeerId Id, byte[] Position)> _entries = [];
    private readonly int _k;

    private SimulatedTable(PeerId owner, int k)
    {
        Owner = owner;
        OwnerPosition = KadKeySpace.PositionOf(owner.Bytes);
        _k = k;
    }

    public PeerId Owner { get; }

    public byte[] OwnerPosition { get; }

    public IReadOnlyList<PeerId> Entries => _entries.Select(e => e.Id).ToList();

    public int Requests { get; private set; }

    /// <summary>One bucket of k per common prefix length with the owner; a full bucket keeps its first k.</summary>
    public static SimulatedTable Buckets(PeerId owner, IEnumerable<PeerId> peers, int k = 20)
    {
        var table = new SimulatedTable(owner, k);
        var perBucket = new int[KadKeySpace.Bits + 1];
        foreach (var peer in peers)
        {
            var position = KadKeySpace.PositionOf(peer.Bytes);
            int cpl = KadKeySpace.CommonPrefixLength(position, table.OwnerPosition);
            if (peer == owner || perBucket[cpl] >= k)
                continue;
            perBucket[cpl]++;
            table._entries.Add((peer, position));
        }
        return table;
    }

    /// <summary>js's trie: a full leaf splits while shallower than <paramref name="prefixLength"/>, else the newcomer is dropped.</summary>
    public static SimulatedTable Trie(PeerId owner, IEnumerable<PeerId> peers, int k = 20, int prefixLength = 6)
    {
        var table = new SimulatedTable(owner, k);
        var leaves = new Dictionary<string, List<(PeerId, byte[])>> { [""] = [] };
        foreach (var peer in peers)
        {
            if (peer == owner)
                continue;
            var position = KadKeySpace.PositionOf(peer.Bytes);
            while (true)
            {
                string leaf = leaves.Keys.Single(prefix => HasPrefix(position, prefix));
                var bucket = leaves[leaf];
                if (bucket.Count < k)
                {
                    bucket.Add((peer, position));
                    break;
                }
                if (leaf.Length >= prefixLength)
                    break;
                leaves.Remove(leaf);
                leaves[leaf + "0"] = bucket.Where(e => !KadKeySpace.Bit(e.Item2, leaf.Length)).ToList();
                leaves[leaf + "1"] = bucket.Where(e => KadKeySpace.Bit(e.Item2, leaf.Length)).ToList();
            }
        }
        table._entries.AddRange(leaves.Values.SelectMany(v => v));
        return table;
    }

    private static bool HasPrefix(byte[] position, string prefix)
    {
        for (int i = 0; i < prefix.Length; i++)
        {
            if (KadKeySpace.Bit(position, i) != (prefix[i] == '1'))
                return false;
        }
        return true;
    }

    public Task<IReadOnlyList<CrawlContact>> FindNodeAsync(byte[] key, CancellationToken cancellationToken)
    {
        Requests++;
        var x = KadKeySpace.PositionOf(key);
        IReadOnlyList<CrawlContact> closer = _entries
            .OrderBy(e => e.Position, Comparer<byte[]>.Create((a, b) => CompareDistance(a, b, x)))
            .Take(_k)
            .Select(e => new CrawlContact(e.Id, []))
            .ToList();
        return Task.FromResult(closer);
    }

    private static int CompareDistance(byte[] a, byte[] b, byte[] x)
    {
        for (int i = 0; i < x.Length; i++)
        {
            int da = a[i] ^ x[i], db = b[i] ^ x[i];
            if (da != db)
                return da.CompareTo(db);
        }
        return 0;
    }

    /// <summary>Random peer ids (SHA-256 multihashes, as RSA keys' are): cheap, and spread over the key space as real ones.</summary>
    public static PeerId[] RandomPeers(int count, Random random)
    {
        var peers = new PeerId[count];
        var bytes = new byte[34];
        bytes[0] = 0x12;
        bytes[1] = 0x20;
        for (int i = 0; i < count; i++)
        {
            random.NextBytes(bytes.AsSpan(2));
            peers[i] = PeerId.FromBytes(bytes);
        }
        return peers;
    }
}
