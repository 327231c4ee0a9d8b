namespace QuDag.Network;

/// <summary>
/// A total order on peer ids (their multihash bytes), so that two nodes that dialed each other at once agree,
/// without talking, on which connection to keep: the one dialed by the lower id.
/// </summary>
internal static class PeerIdOrder
{
    public static int Compare(PeerId left, PeerId right) => left.Bytes.SequenceCompareTo(right.Bytes);
}
