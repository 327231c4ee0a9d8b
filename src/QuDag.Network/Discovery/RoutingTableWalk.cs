namespace QuDag.Network.Discovery;

/// <summary>A peer as a routing table names it: its id and the addresses the table's owner knows for it.</summary>
internal readonly record struct CrawlContact(PeerId PeerId, IReadOnlyList<Multiaddr> Addresses);

/// <summary>
/// Reads a remote's whole routing table with FIND_NODE. Nebula asks for a random key at each common prefix length
/// 0..15 with the remote; that reads a table of rust's or go's shape (one bucket per prefix length) but not js's: its
/// table is a trie whose leaves split anywhere up to depth 6, so one far "bucket" can hold 60 peers and one answer
/// shows 20 of them. This walk makes no assumption of shape. An answer is the k closest peers the remote knows to a
/// key x, so when the farthest of them shares m leading bits with x, every peer sharing more than m bits with x is
/// in it: that part of the space is read, and each sibling part left between the region's depth and m is asked in
/// turn. A short answer (fewer than k) reads the whole region. It ends when every part of the space is read, after
/// about two requests per k peers in the table, or at the request and depth caps a hostile table could otherwise
/// stretch without end.
/// </summary>
internal sealed class RoutingTableWalk(int bucketSize, int maxDepth, int maxRequests, int parallelRequests, int maxNeighbours)
{
    /// <summary>One FIND_NODE: the closer peers the remote answers for <c>key</c>.</summary>
    public delegate Task<IReadOnlyList<CrawlContact>> FindNode(byte[] key, CancellationToken cancellationToken);

    /// <summary>What a walk learnt of one table.</summary>
    public sealed record Outcome(IReadOnlyList<CrawlContact> Neighbours, int Requests, int FailedRequests, bool Complete, Exception? FirstError);

    private readonly record struct Region(byte[] Prefix, int Depth);

    public async Task<Outcome> RunAsync(FindNode findNode, CancellationToken cancellationToken)
    {
        var neighbours = new Dictionary<PeerId, CrawlContact>();
        var pending = new Queue<Region>();
        pending.Enqueue(new Region(new byte[KadKeySpace.Bits / 8], 0));
        int requests = 0, failed = 0;
        bool complete = true;
        Exception? firstError = null;
        while (pending.Count > 0 && requests < maxRequests)
        {
            int width = Math.Min(Math.Min(parallelRequests, pending.Count), maxRequests - requests);
            var wave = new (Region Region, byte[] Key, Task<IReadOnlyList<CrawlContact>> Answer)[width];
            for (int i = 0; i < width; i++)
            {
                var region = pending.Dequeue();
                var key = KadKeySpace.RandomKeyIn(region.Prefix, region.Depth);
                wave[i] = (region, key, findNode(key, cancellationToken));
            }
            requests += width;
            foreach (var (region, key, answer) in wave)
            {
                IReadOnlyList<CrawlContact> closer;
                try
                {
                    closer = await answer.ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    failed++;
                    complete = false;
                    firstError ??= ex;
                    continue;
                }
                if (!Read(region, key, closer, neighbours, pending))
                    complete = false;
            }
            // A remote that fails every request of the first wave (gone, or refusing kad) is not asked more.
            if (failed == requests)
                break;
        }
        if (pending.Count > 0)
            complete = false;
        return new Outcome(neighbours.Values.ToArray(), requests, failed, complete, firstError);
    }

    /// <summary>Takes an answer in; queues the parts of the region it left unread. False when a part is too deep to ask.</summary>
    private bool Read(Region region, byte[] key, IReadOnlyList<CrawlContact> closer, Dictionary<PeerId, CrawlContact> neighbours, Queue<Region> pending)
    {
        var x = KadKeySpace.PositionOf(key);
        int count = 0, farthest = KadKeySpace.Bits;
        // An answer longer than k is not one a remote we understand sends: read k of it, never more.
        foreach (var contact in closer)
        {
            if (!contact.PeerId.IsValid)
                continue;
            if (++count > bucketSize)
                break;
            if (neighbours.Count < maxNeighbours)
                neighbours.TryAdd(contact.PeerId, contact);
            farthest = Math.Min(farthest, KadKeySpace.CommonPrefixLength(x, KadKeySpace.PositionOf(contact.PeerId.Bytes)));
        }
        if (count < bucketSize || farthest < region.Depth)
            return true;
        for (int j = region.Depth; j <= farthest; j++)
        {
            if (j >= maxDepth)
                return false;
            pending.Enqueue(new Region(KadKeySpace.WithBitFlipped(x, j), j + 1));
        }
        return true;
    }
}
