using QuDag.P2p.Protocols.Kad;
using QuDag.P2p.Upgrade;

namespace QuDag.Network.Discovery;

/// <summary>The crawler's one kad call, over the kad layer's wire: a stream per FIND_NODE, as every implementation does.</summary>
internal static class KadFindNode
{
    public static async Task<IReadOnlyList<CrawlContact>> FindNodeAsync(P2pConnection connection, string protocol, byte[] key, CancellationToken cancellationToken)
    {
        // The caller's token carries the request's deadline (on the crawler's clock); the wire adds none of its own.
        await using var stream = await connection.OpenStreamAsync(protocol, cancellationToken).ConfigureAwait(false);
        var answer = await KadProtocol.RequestAsync(stream, KadMessage.FindNode(key), Timeout.InfiniteTimeSpan,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return answer.CloserPeers.Select(p => new CrawlContact(p.Id, p.Addresses)).ToArray();
    }
}
