using System.Net;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// The router's state of one connected peer: its connections and streams, the protocol it speaks, the topics it
/// subscribes to, and what it may still ask of us this heartbeat. Read and changed only under the router's lock (the
/// writer has its own).
/// </summary>
internal sealed class GossipPeer(PeerId id, bool outbound, IPAddress? address)
{
    private readonly HashSet<string> _topics = new(StringComparer.Ordinal);

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
    public IReadOnlyCollection<string> Topics => _topics;

    /// <summary>What it asked of us since the last heartbeat.</summary>
    public GossipQuota Quota { get; } = new();

    public bool IsMeshsub => Protocol is GossipsubProtocol.MeshsubV11 or GossipsubProtocol.MeshsubV10;

    public bool IsFloodsub => Protocol == GossipsubProtocol.Floodsub;

    /// <summary>Speaks v1.1: understands a PRUNE's backoff and peer exchange.</summary>
    public bool IsV11 => Protocol == GossipsubProtocol.MeshsubV11;

    public bool SubscribesTo(string topic) => _topics.Contains(topic);

    /// <summary>Records a subscription; false when known already or past <paramref name="maxTopics"/> (then ignored).</summary>
    public bool Subscribe(string topic, int maxTopics, out bool overLimit)
    {
        overLimit = false;
        if (_topics.Contains(topic))
            return false;
        if (_topics.Count >= maxTopics)
        {
            overLimit = true;
            return false;
        }
        _topics.Add(topic);
        return true;
    }

    public bool Unsubscribe(string topic) => _topics.Remove(topic);
}

/// <summary>
/// What one peer asked of us since the last heartbeat: IHAVE messages taken, ids asked for with IWANT, IWANT ids
/// answered, and ids it does not want forwarded (v1.2). Each is capped by the options; the heartbeat resets them.
/// </summary>
internal sealed class GossipQuota
{
    private HashSet<MessageId>? _dontWant;

    public int IHaves { get; private set; }

    public int Asked { get; private set; }

    public int IWantServed { get; private set; }

    /// <summary>Counts one IHAVE; false when it is past <paramref name="maxIHaves"/> or we already asked for <paramref name="maxAsked"/> ids.</summary>
    public bool TakeIHave(int maxIHaves, int maxAsked) => ++IHaves <= maxIHaves && Asked < maxAsked;

    public void AddAsked(int count) => Asked += count;

    public void AddServed() => IWantServed++;

    public void DontWant(IReadOnlyList<MessageId> ids, int max)
    {
        _dontWant ??= [];
        foreach (var id in ids)
        {
            if (_dontWant.Count >= max)
                break;
            _dontWant.Add(id);
        }
    }

    public bool DoesNotWant(MessageId id) => _dontWant?.Contains(id) == true;

    public void Reset()
    {
        IHaves = Asked = IWantServed = 0;
        _dontWant = null;
    }
}
