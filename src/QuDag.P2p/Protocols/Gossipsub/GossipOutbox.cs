using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// What one step of the router decided under its lock and does after releasing it: frames to queue, messages to
/// deliver, peer exchange to check and hand up. Signature checks and handlers never run under the lock.
/// </summary>
internal sealed class GossipOutbox
{
    public List<(GossipPeer Peer, byte[] Frame, bool Droppable, TopicState? Topic)> Frames { get; } = [];

    public List<GossipDelivery> Deliveries { get; } = [];

    /// <summary>PRUNEs with peer exchange from peers we accept it from, their entries not yet verified.</summary>
    public List<(PeerId From, string Topic, IReadOnlyList<PeerExchangeEntry> Entries)> PeerExchange { get; } = [];

    public void Send(GossipPeer peer, byte[] frame, bool droppable, TopicState? topic = null) => Frames.Add((peer, frame, droppable, topic));

    public void SendControl(GossipPeer peer, ControlMessage control) =>
        Send(peer, GossipsubProtocol.Frame(new PubsubRpc { Control = control }), droppable: false);
}
