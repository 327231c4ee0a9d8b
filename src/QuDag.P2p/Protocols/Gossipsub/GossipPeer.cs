using System.Net;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>The router's state of one peer. Owned by the router and read or changed only under its lock (the writer has its own).</summary>
internal sealed class GossipPeer(PeerId id, bool outbound, IPAddress? address)
{
    public PeerId Id { get; } = id;

    /// <summary>True when we dialed its first connection (D_out counts these).</summary>
    public bool Outbound { get; } = outbound;

    public IPAddress? Address { get; } = address;

    /// <summary>Its live connections; the writer uses the first.</summary>
    public List<P2pConnection> Connections { get; } = [];

    /// <summary>The pubsub protocol it speaks, from either direction's negotiation; null until known.</summary>
    public string? Protocol { get; set; }

    public GossipStreamWriter? Writer { get; set; }

    /// <summary>Its current inbound stream (a newer one replaces it, as js does).</summary>
    public MuxedStream? Inbound { get; set; }

    /// <summary>The topics it subscribes to.</summary>
    public HashSet<string> Topics { get; } = new(StringComparer.Ordinal);

    /// <summary>Until when (clock timestamp) we may not GRAFT it, per topic.</summary>
    public Dictionary<string, long> Backoff { get; } = new(StringComparer.Ordinal);

    /// <summary>Per heartbeat: IHAVE messages taken, ids asked for, IWANT ids answered.</summary>
    public int IHaves, Asked, IWantServed;

    /// <summary>Ids it asked us not to forward to it (v1.2), this heartbeat.</summary>
    public HashSet<MessageId>? DontWant { get; set; }

    public bool IsMeshsub => Protocol is GossipsubProtocol.MeshsubV11 or GossipsubProtocol.MeshsubV10;

    public bool IsFloodsub => Protocol == GossipsubProtocol.Floodsub;

    public bool InBackoff(string topic, long now) => Backoff.TryGetValue(topic, out long until) && now < until;
}

/// <summary>The router's state of one topic, known because we subscribe to it, publish to it, or a peer subscribes to it.</summary>
internal sealed class TopicState(string name)
{
    public string Name { get; } = name;

    public bool Subscribed { get; set; }

    public HashSet<PeerId> Mesh { get; } = [];

    /// <summary>Peers we publish to while not subscribed (fanout).</summary>
    public HashSet<PeerId> Fanout { get; } = [];

    public long FanoutLastPublished { get; set; }

    public HashSet<PeerId> Subscribers { get; } = [];

    public long Published, Received, Duplicates, Invalid, Forwarded;

    /// <summary>Counted outside the router's lock (when a peer's queue refuses a frame): Interlocked.</summary>
    public long Dropped;

    /// <summary>Nothing refers to it and it counted nothing: it can go.</summary>
    public bool IsIdle => !Subscribed && Mesh.Count == 0 && Fanout.Count == 0 && Subscribers.Count == 0
        && Published == 0 && Received == 0 && Duplicates == 0 && Invalid == 0;
}

/// <summary>What one step of the router decided under its lock and does after releasing it: frames to queue, messages to deliver, peers offered.</summary>
internal sealed class GossipOutbox
{
    public List<(GossipPeer Peer, byte[] Frame, bool Droppable, TopicState? Topic)> Frames { get; } = [];

    public List<GossipDelivery> Deliveries { get; } = [];

    public List<(PeerId From, string Topic, List<PeerId> Peers)> PeerExchange { get; } = [];

    public void Send(GossipPeer peer, byte[] frame, bool droppable, TopicState? topic = null) => Frames.Add((peer, frame, droppable, topic));
}
