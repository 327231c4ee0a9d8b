using QuDag.P2p.Identity;
using static QuDag.P2p.Protocols.Gossipsub.GossipSelection;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// Lazy push: the IHAVE gossip we emit each heartbeat (ids of recent messages, to D_lazy or the gossip factor of
/// non-mesh subscribers), the IHAVEs we answer with IWANT (held to the per-heartbeat caps, each IWANT making a
/// promise), the IWANTs we answer from the message cache, and the promises peers break. Owned by the router, called
/// under its lock.
/// </summary>
internal sealed class GossipExchange(GossipsubOptions options, IReadOnlyDictionary<PeerId, GossipPeer> peers, PeerScore score,
    MessageCache cache, SeenCache seen, GossipCounters counters)
{
    private readonly GossipPromises _promises = new();
    private readonly TimeProvider _time = options.TimeProvider;

    /// <summary>The message arrived: a promise for it is kept.</summary>
    public void Delivered(MessageId id) => _promises.Delivered(id);

    /// <summary>IHAVE from <paramref name="peer"/>: asks with IWANT for what we have not seen, within the caps.</summary>
    public void OnIHave(GossipPeer peer, IReadOnlyList<ControlIHave> ihaves, double peerScore, long now, GossipMesh mesh, GossipOutbox outbox)
    {
        if (ihaves.Count == 0)
            return;
        if (peerScore < options.Thresholds.GossipThreshold)
        {
            counters.IHaveIgnored(ihaves.Count);
            return;
        }
        var wanted = new HashSet<MessageId>();
        foreach (var ihave in ihaves)
        {
            if (!peer.Quota.TakeIHave(options.MaxIHaveMessages, options.MaxIHaveLength))
            {
                counters.IHaveIgnored();
                continue;
            }
            if (mesh.Joined(ihave.Topic) is null)
                continue;
            foreach (var id in ihave.MessageIds)
            {
                if (!seen.Contains(id) && !_promises.Contains(id))
                    wanted.Add(id);
            }
        }
        int room = options.MaxIHaveLength - peer.Quota.Asked;
        if (wanted.Count == 0 || room <= 0)
            return;
        var ask = Shuffled(wanted).Take(room).ToList();
        peer.Quota.AddAsked(ask.Count);
        counters.IWantSent(ask.Count);
        // One promise per IWANT, for a random id of it (the spec's way to catch peers that announce and never deliver).
        _promises.Add(ask[Random.Shared.Next(ask.Count)], peer.Id, now + _time.Ticks(options.IWantFollowupTime));
        foreach (var chunk in ChunkIds(ask))
            outbox.SendControl(peer, new ControlMessage { IWant = chunk });
    }

    /// <summary>IWANT from <paramref name="peer"/>: sends what the cache holds, each message at most GossipRetransmission times, within the cap.</summary>
    public void OnIWant(GossipPeer peer, IReadOnlyList<MessageId> ids, double peerScore, GossipMesh mesh, GossipOutbox outbox)
    {
        if (ids.Count == 0)
            return;
        if (peerScore < options.Thresholds.GossipThreshold)
        {
            counters.IWantIgnored(ids.Count);
            return;
        }
        foreach (var id in ids)
        {
            if (peer.Quota.IWantServed >= options.MaxIWantPerHeartbeat || cache.GetForPeer(id, peer, options.GossipRetransmission) is not { } entry)
            {
                counters.IWantIgnored();
                continue;
            }
            peer.Quota.AddServed();
            outbox.Send(peer, entry.Frame, droppable: true, mesh.Find(entry.Message.Topic));
        }
    }

    /// <summary>The peers whose promises ran out (once per broken promise): the heartbeat penalises them.</summary>
    public List<PeerId> TakeBrokenPromises(long now)
    {
        var broken = _promises.TakeBroken(now);
        counters.BrokenPromises(broken.Count);
        return broken;
    }

    /// <summary>Plans IHAVE gossip of the topic's recent ids to non-mesh (<paramref name="exclude"/>) subscribers.</summary>
    public void Emit(TopicState state, HashSet<PeerId> exclude, GossipPlan plan)
    {
        var ids = cache.GossipIds(state.Name);
        if (ids.Count == 0)
            return;
        if (ids.Count > options.MaxIHaveLength)
            ids = Shuffled(ids).Take(options.MaxIHaveLength).ToList();
        var eligible = state.Subscribers
            .Where(id => !exclude.Contains(id) && peers.TryGetValue(id, out var p) && p.IsMeshsub && score.Score(id) >= options.Thresholds.GossipThreshold)
            .Select(id => peers[id]).ToList();
        int count = Math.Max(options.DLazy, (int)(options.GossipFactor * eligible.Count));
        foreach (var p in Shuffled(eligible).Take(count))
            plan.Add(p, new ControlIHave(state.Name, ids));
    }

    /// <summary>Sends the planned IHAVEs, split into RPCs that fit MaxTransmitSize; droppable, as gossip is.</summary>
    public void Send(GossipPlan plan, GossipOutbox outbox)
    {
        foreach (var (peer, ihave) in plan.Items)
        {
            foreach (var chunk in ChunkIds(ihave.MessageIds))
            {
                outbox.Send(peer, GossipsubProtocol.Frame(new PubsubRpc { Control = new ControlMessage { IHave = [new ControlIHave(ihave.Topic, chunk)] } }),
                    droppable: true);
            }
        }
    }

    /// <summary>Splits ids into lists that each fit an RPC under MaxTransmitSize.</summary>
    private IEnumerable<List<MessageId>> ChunkIds(IReadOnlyList<MessageId> ids)
    {
        int budget = options.MaxTransmitSize - 2048; // the topic, tags and lengths
        var chunk = new List<MessageId>();
        int size = 0;
        foreach (var id in ids)
        {
            int cost = id.Length + 4;
            if (chunk.Count > 0 && size + cost > budget)
            {
                yield return chunk;
                chunk = [];
                size = 0;
            }
            chunk.Add(id);
            size += cost;
        }
        if (chunk.Count > 0)
            yield return chunk;
    }
}

/// <summary>The IHAVEs one heartbeat decided.</summary>
internal sealed class GossipPlan
{
    public List<(GossipPeer Peer, ControlIHave IHave)> Items { get; } = [];

    public void Add(GossipPeer peer, ControlIHave ihave) => Items.Add((peer, ihave));
}
