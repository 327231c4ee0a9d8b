using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// The router's state of one topic, known because we subscribe to it, publish to it, or a peer subscribes to it: its
/// subscribers, our mesh (while subscribed) or fanout (while only publishing), and its figures. Changed under the
/// router's lock, except <see cref="Dropped"/> (counted where a peer's queue refuses a frame, outside it).
/// </summary>
internal sealed class TopicState(string name)
{
    private long _published, _received, _duplicates, _invalid, _forwarded, _dropped;

    public string Name { get; } = name;

    public bool Subscribed { get; set; }

    public HashSet<PeerId> Mesh { get; } = [];

    /// <summary>Peers we publish to while not subscribed (fanout).</summary>
    public HashSet<PeerId> Fanout { get; } = [];

    /// <summary>When we last published while not subscribed (clock timestamp); 0 when never or forgotten.</summary>
    public long FanoutLastPublished { get; set; }

    public HashSet<PeerId> Subscribers { get; } = [];

    /// <summary>The peers we send our own messages to: the mesh while subscribed, else the fanout.</summary>
    public HashSet<PeerId> Members => Subscribed ? Mesh : Fanout;

    public void CountPublished() => _published++;

    public void CountReceived() => _received++;

    public void CountDuplicate() => _duplicates++;

    public void CountInvalid() => _invalid++;

    public void CountForwarded() => _forwarded++;

    public void CountDropped() => Interlocked.Increment(ref _dropped);

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Nothing refers to it and it counted nothing: it can go.</summary>
    public bool IsIdle => !Subscribed && Mesh.Count == 0 && Fanout.Count == 0 && Subscribers.Count == 0
        && _published == 0 && _received == 0 && _duplicates == 0 && _invalid == 0;

    public GossipTopicStatistics Describe() => new()
    {
        Topic = Name,
        Subscribed = Subscribed,
        MeshPeers = Members.ToArray(),
        Subscribers = Subscribers.ToArray(),
        Published = _published,
        Received = _received,
        Duplicates = _duplicates,
        Invalid = _invalid,
        Forwarded = _forwarded,
        Dropped = Dropped,
    };
}
