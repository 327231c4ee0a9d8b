using QuDag.P2p.Upgrade;

namespace QuDag.Network.Discovery;

/// <summary>The crawler's one kad call, over the kad layer's client (src/QuDag.P2p/Protocols/Kad).</summary>
internal static class KadFindNode
{
    public static Task<IReadOnlyList<CrawlContact>> FindNodeAsync(P2pConnection connection, string protocol, byte[] key, CancellationToken cancellationToken)
        => throw new NotSupportedException("The kad wire layer is not merged into this branch yet.");
}
