using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Protocols.Kad;

/// <summary>One exchange on a stream negotiated to the kad protocol, over <paramref name="connection"/>.</summary>
public delegate Task<T> KadExchange<T>(MuxedStream stream, P2pConnection connection, CancellationToken cancellationToken);

/// <summary>
/// What the DHT needs from the node around it and cannot have itself (protocols never use each other, and connections
/// are the manager's to keep): a stream to a peer, over its existing connection or a new one, and the addresses we
/// listen on. Implemented above the stack (QuDag.Network's Discovery).
/// </summary>
public interface IKadNetwork
{
    /// <summary>
    /// Runs <paramref name="exchange"/> on a new stream to <paramref name="peer"/> negotiated to <paramref name="protocol"/>,
    /// connecting first (to one of <paramref name="addresses"/>) when there is no connection; disposes the stream after.
    /// Throws what the connect or the negotiation throws (the peer then counts as failed for the lookup).
    /// </summary>
    Task<T> ExchangeAsync<T>(PeerId peer, IReadOnlyList<Multiaddr> addresses, string protocol, KadExchange<T> exchange, CancellationToken cancellationToken);

    /// <summary>The addresses this node listens on (what ADD_PROVIDER announces).</summary>
    IReadOnlyList<Multiaddr> ListenAddresses { get; }
}
