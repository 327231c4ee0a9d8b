namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>Small helpers the router's parts share: random choice of peers, clock spans as timestamps.</summary>
internal static class GossipSelection
{
    /// <summary>The items in random order (peer selection at random is what keeps a mesh from being steered).</summary>
    public static List<T> Shuffled<T>(IEnumerable<T> items)
    {
        var list = items.ToList();
        Random.Shared.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list));
        return list;
    }

    /// <summary>A span in the clock's timestamp units.</summary>
    public static long Ticks(this TimeProvider time, TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);
}
