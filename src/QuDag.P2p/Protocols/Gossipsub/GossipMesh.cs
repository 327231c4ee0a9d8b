using QuDag.P2p.Identity;
using static QuDag.P2p.Protocols.Gossipsub.GossipSelection;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// The topics the router knows and, per topic, who subscribes, our mesh (D, D_lo, D_hi, D_score, D_out) or fanout, and
/// the PRUNE backoffs: joining and leaving, GRAFT and PRUNE both ways, and the heartbeat's mesh and fanout upkeep. The
/// score decides who may be grafted; this type decides what the mesh becomes and which GRAFT/PRUNE frames that takes.
/// Owned by the router, called under its lock.
/// </summary>
internal sealed class GossipMesh(GossipsubOptions options, IReadOnlyDictionary<PeerId, GossipPeer> peers, PeerScore score)
{
    private readonly Dictionary<string, TopicState> _topics = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = options.TimeProvider;

    public BackoffTable Backoff { get; } = new(options.MaxTopicsPerPeer);

    public IEnumerable<TopicState> Topics => _topics.Values;

    public TopicState? Find(string topic) => _topics.GetValueOrDefault(topic);

    /// <summary>The topic if we subscribe to it; null otherwise.</summary>
    public TopicState? Joined(string topic) => _topics.TryGetValue(topic, out var state) && state.Subscribed ? state : null;

    public TopicState GetOrAdd(string topic)
    {
        if (!_topics.TryGetValue(topic, out var state))
            _topics[topic] = state = new TopicState(topic);
        return state;
    }

    public void ForgetIfIdle(TopicState state)
    {
        if (state.IsIdle)
            _topics.Remove(state.Name);
    }

    public IEnumerable<string> MeshesOf(PeerId peer) => _topics.Values.Where(t => t.Mesh.Contains(peer)).Select(t => t.Name);

    // ---- our subscriptions --------------------------------------------------------------------------------

    /// <summary>JOIN: the fanout peers first, then other subscribers, up to D; returns the mesh to GRAFT.</summary>
    public HashSet<PeerId> Join(TopicState state, long now)
    {
        state.Subscribed = true;
        foreach (var p in state.Fanout.Select(id => peers.GetValueOrDefault(id)).OfType<GossipPeer>().Where(p => CanGraft(p, state.Name, now)).Take(options.D).ToList())
            Graft(p, state);
        state.Fanout.Clear();
        state.FanoutLastPublished = 0;
        if (state.Mesh.Count < options.D)
        {
            foreach (var p in Shuffled(EligibleForMesh(state, now)).Take(options.D - state.Mesh.Count))
                Graft(p, state);
        }
        return state.Mesh;
    }

    /// <summary>LEAVE: empties the mesh with the unsubscribe backoff; returns the peers to PRUNE.</summary>
    public List<PeerId> Leave(TopicState state, long now)
    {
        state.Subscribed = false;
        long until = now + _time.Ticks(options.UnsubscribeBackoff);
        var pruned = state.Mesh.ToList();
        foreach (var id in pruned)
        {
            score.Prune(id, state.Name);
            Backoff.Set(id, state.Name, until);
        }
        state.Mesh.Clear();
        ForgetIfIdle(state);
        return pruned;
    }

    // ---- the peers' subscriptions -------------------------------------------------------------------------

    /// <summary>A peer subscribed to <paramref name="topic"/>; true when it was grafted at once (our mesh is below D_lo).</summary>
    /// <remarks>Grafting at once rather than at the next heartbeat (as js does) means a message right after the join is not lost.</remarks>
    public bool AddSubscriber(GossipPeer peer, string topic, long now)
    {
        var state = GetOrAdd(topic);
        state.Subscribers.Add(peer.Id);
        if (!state.Subscribed || state.Mesh.Count >= options.DLow || !CanGraft(peer, topic, now))
            return false;
        Graft(peer, state);
        return true;
    }

    public void RemoveSubscriber(PeerId peer, string topic)
    {
        if (!_topics.TryGetValue(topic, out var state))
            return;
        state.Subscribers.Remove(peer);
        RemoveFromMesh(peer, state);
        state.Fanout.Remove(peer);
        ForgetIfIdle(state);
    }

    /// <summary>The peer left: out of every topic, its backoffs forgotten.</summary>
    public void RemovePeer(GossipPeer peer)
    {
        foreach (var topic in peer.Topics)
            RemoveSubscriber(peer.Id, topic);
        foreach (var state in _topics.Values)
            state.Mesh.Remove(peer.Id); // a mesh may hold a peer that unsubscribed in the same breath
        Backoff.RemovePeer(peer.Id);
    }

    // ---- GRAFT and PRUNE from peers -----------------------------------------------------------------------

    /// <summary>A GRAFT from <paramref name="peer"/>: accepted into the mesh, or answered with the PRUNE returned.</summary>
    public ControlPrune? OnGraft(GossipPeer peer, string topic, double peerScore, long now)
    {
        if (Joined(topic) is not { } state)
            return new ControlPrune(topic, [], null);
        if (state.Mesh.Contains(peer.Id) || peer.IsFloodsub)
            return null;
        if (Backoff.Until(peer.Id, topic) is { } until && now < until)
        {
            // A GRAFT during our backoff: a behaviour penalty, doubled when it comes soon after the PRUNE (a flood).
            score.AddPenalty(peer.Id, 1);
            long pruned = until - _time.Ticks(options.PruneBackoff);
            if (now < pruned + _time.Ticks(options.GraftFloodThreshold))
                score.AddPenalty(peer.Id, 1);
            return Prune(peer, state, withPeers: false, now);
        }
        if (peerScore < 0 || (state.Mesh.Count >= options.DHigh && !peer.Outbound))
            return Prune(peer, state, withPeers: peerScore >= 0, now);
        Graft(peer, state);
        return null;
    }

    /// <summary>A PRUNE from <paramref name="peer"/>: out of the mesh, and the backoff it asks for (capped at an hour), at least ours.</summary>
    public void OnPrune(GossipPeer peer, ControlPrune prune, long now)
    {
        if (_topics.TryGetValue(prune.Topic, out var state))
            RemoveFromMesh(peer.Id, state);
        double seconds = Math.Min(3600, Math.Max(prune.BackoffSeconds ?? 0, options.PruneBackoff.TotalSeconds));
        Backoff.Extend(peer.Id, prune.Topic, now + _time.Ticks(TimeSpan.FromSeconds(seconds)));
    }

    // ---- the heartbeat ------------------------------------------------------------------------------------

    /// <summary>
    /// One heartbeat's upkeep of a joined topic's mesh: drop negative scores, graft up to D below D_lo, prune to D above
    /// D_hi (keeping D_score by score and D_out outbound), top up outbound peers, and every
    /// <see cref="GossipsubOptions.OpportunisticGraftTicks"/> graft peers that score above a poor median.
    /// </summary>
    public void Maintain(TopicState state, long tick, long now, HeartbeatControl control)
    {
        string topic = state.Name;
        void Add(GossipPeer p)
        {
            Graft(p, state);
            control.Graft(p, topic);
        }
        void Drop(GossipPeer p, bool withPeers) => control.Prune(p, Prune(p, state, withPeers, now));

        foreach (var id in state.Mesh.ToList())
        {
            if (!peers.TryGetValue(id, out var p))
                state.Mesh.Remove(id);
            else if (score.Score(id) < 0)
                Drop(p, withPeers: false);
        }
        if (state.Mesh.Count < options.DLow)
        {
            foreach (var p in Shuffled(EligibleForMesh(state, now)).Take(options.D - state.Mesh.Count))
                Add(p);
        }
        else if (state.Mesh.Count > options.DHigh)
        {
            foreach (var p in Oversubscribed(state))
                Drop(p, withPeers: true);
        }
        if (state.Mesh.Count >= options.DLow)
        {
            int outbound = state.Mesh.Count(id => peers[id].Outbound);
            if (outbound < options.DOut)
            {
                foreach (var p in Shuffled(EligibleForMesh(state, now).Where(p => p.Outbound)).Take(options.DOut - outbound))
                    Add(p);
            }
        }
        if (tick % options.OpportunisticGraftTicks == 0 && state.Mesh.Count > 1 && score.Enabled)
        {
            var scores = state.Mesh.Select(score.Score).Order().ToList();
            double median = scores[scores.Count / 2];
            if (median < options.Thresholds.OpportunisticGraftThreshold)
            {
                foreach (var p in Shuffled(EligibleForMesh(state, now).Where(p => score.Score(p.Id) > median)).Take(options.OpportunisticGraftPeers))
                    Add(p);
            }
        }
    }

    /// <summary>The mesh members to prune when over D_hi: keep D_score by score, fill to D at random, then make sure D_out of them are outbound.</summary>
    private List<GossipPeer> Oversubscribed(TopicState state)
    {
        var members = Shuffled(state.Mesh.Select(id => peers[id]));
        var byScore = members.OrderByDescending(p => score.Score(p.Id)).ToList();
        var keep = byScore.Take(options.DScore).ToList();
        keep.AddRange(Shuffled(byScore.Skip(options.DScore)).Take(options.D - keep.Count));
        int outbound = keep.Count(p => p.Outbound);
        if (outbound < options.DOut)
        {
            var spare = members.Where(p => p.Outbound && !keep.Contains(p)).Take(options.DOut - outbound).ToList();
            for (int i = keep.Count - 1; i >= options.DScore && spare.Count > 0; i--)
            {
                if (keep[i].Outbound)
                    continue;
                keep[i] = spare[^1];
                spare.RemoveAt(spare.Count - 1);
            }
        }
        return [.. members.Where(p => !keep.Contains(p))];
    }

    /// <summary>A topic we only publish to: forgotten after the fanout TTL without a publish, else topped up to D.</summary>
    public void MaintainFanout(TopicState state, long now)
    {
        if (_time.GetElapsedTime(state.FanoutLastPublished, now) > options.FanoutTtl)
        {
            state.Fanout.Clear();
            state.FanoutLastPublished = 0;
            ForgetIfIdle(state);
            return;
        }
        state.Fanout.RemoveWhere(id => !state.Subscribers.Contains(id) || score.Score(id) < options.Thresholds.PublishThreshold);
        FillFanout(state);
    }

    /// <summary>We publish to a topic we do not join: its fanout is kept (for gossip and figures) and topped up to D.</summary>
    public void Published(TopicState state, long now)
    {
        state.FanoutLastPublished = now;
        FillFanout(state);
    }

    private void FillFanout(TopicState state)
    {
        if (state.Fanout.Count >= options.D)
            return;
        var eligible = state.Subscribers.Where(id => !state.Fanout.Contains(id) && peers.TryGetValue(id, out var p) && p.IsMeshsub
            && score.Score(id) >= options.Thresholds.PublishThreshold);
        foreach (var id in Shuffled(eligible).Take(options.D - state.Fanout.Count))
            state.Fanout.Add(id);
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    private void Graft(GossipPeer peer, TopicState state)
    {
        state.Mesh.Add(peer.Id);
        score.Graft(peer.Id, state.Name);
    }

    private void RemoveFromMesh(PeerId peer, TopicState state)
    {
        if (state.Mesh.Remove(peer))
            score.Prune(peer, state.Name);
    }

    /// <summary>Takes <paramref name="peer"/> out of the mesh with our PRUNE backoff, and makes the PRUNE (with peer exchange when asked and on).</summary>
    private ControlPrune Prune(GossipPeer peer, TopicState state, bool withPeers, long now)
    {
        RemoveFromMesh(peer.Id, state);
        Backoff.Set(peer.Id, state.Name, now + _time.Ticks(options.PruneBackoff));
        var exchange = new List<PeerExchangeEntry>();
        if (withPeers && options.DoPeerExchange && peer.IsV11)
        {
            foreach (var id in Shuffled(state.Subscribers.Where(s => s != peer.Id && score.Score(s) >= 0)).Take(options.PrunePeers))
                exchange.Add(new PeerExchangeEntry(id.Bytes.ToArray(), options.SignedPeerRecords?.Invoke(id)));
        }
        ulong? backoff = peer.IsV11 ? (ulong)options.PruneBackoff.TotalSeconds : null;
        return new ControlPrune(state.Name, exchange, backoff);
    }

    private IEnumerable<GossipPeer> EligibleForMesh(TopicState state, long now)
    {
        foreach (var id in state.Subscribers)
        {
            if (!state.Mesh.Contains(id) && peers.TryGetValue(id, out var p) && CanGraft(p, state.Name, now))
                yield return p;
        }
    }

    private bool CanGraft(GossipPeer peer, string topic, long now) =>
        peer.IsMeshsub && peer.SubscribesTo(topic) && !Backoff.IsBackedOff(peer.Id, topic, now) && score.Score(peer.Id) >= 0;
}

/// <summary>The GRAFTs and PRUNEs one heartbeat decided, per peer, sent as one control RPC each.</summary>
internal sealed class HeartbeatControl
{
    private readonly Dictionary<GossipPeer, (List<string> Graft, List<ControlPrune> Prune)> _byPeer = [];

    public void Graft(GossipPeer peer, string topic) => Of(peer).Graft.Add(topic);

    public void Prune(GossipPeer peer, ControlPrune prune) => Of(peer).Prune.Add(prune);

    public void SendTo(GossipOutbox outbox)
    {
        foreach (var (peer, (graft, prune)) in _byPeer)
            outbox.SendControl(peer, new ControlMessage { Graft = graft, Prune = prune });
    }

    private (List<string> Graft, List<ControlPrune> Prune) Of(GossipPeer peer)
    {
        if (!_byPeer.TryGetValue(peer, out var lists))
            _byPeer[peer] = lists = ([], []);
        return lists;
    }
}
