using System.Net;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// The v1.1 peer score of every peer the router knows, and of peers gone less than <see cref="PeerScoreParams.RetainScore"/>
/// ago: score = Σ topics min(cap, weight × (P1 + P2 + P3 + P3b + P4)) + P6 + P7. Owned by the router and called under
/// its lock; not thread-safe on its own.
/// </summary>
internal sealed class PeerScore
{
    private readonly PeerScoreParams? _params;
    private readonly TimeProvider _time;
    private readonly Dictionary<PeerId, PeerStats> _peers = [];
    private readonly Dictionary<IPAddress, int> _peersPerAddress = [];
    // When each recent message was first delivered, for P3's window (duplicates soon after still count).
    private readonly Dictionary<MessageId, long> _firstDelivered = [];
    private long _lastDecay;

    public PeerScore(PeerScoreParams? parameters, TimeProvider time)
    {
        _params = parameters;
        _time = time;
        _lastDecay = time.GetTimestamp();
    }

    public bool Enabled => _params is not null;

    public void AddPeer(PeerId peer, IPAddress? address)
    {
        if (_params is null)
            return;
        if (!_peers.TryGetValue(peer, out var stats))
            _peers[peer] = stats = new PeerStats();
        stats.Connected = true;
        if (stats.Address is null && address is not null && !(_params.IPColocationIgnoresLoopback && PeerScoreParams.IsLoopback(address)))
        {
            stats.Address = address;
            _peersPerAddress[address] = _peersPerAddress.GetValueOrDefault(address) + 1;
        }
    }

    /// <summary>The peer left: its score is kept (and decays) until RetainScore passes, unless it is harmless.</summary>
    public void RemovePeer(PeerId peer)
    {
        if (_params is null || !_peers.TryGetValue(peer, out var stats))
            return;
        stats.Connected = false;
        if (stats.Address is { } address && --_peersPerAddress[address] == 0)
            _peersPerAddress.Remove(address);
        stats.Address = null;
        if (Score(peer) >= 0)
        {
            _peers.Remove(peer);
            return;
        }
        stats.ExpiresAt = _time.GetTimestamp() + (long)(_params.RetainScore.TotalSeconds * _time.TimestampFrequency);
        foreach (var topic in stats.Topics.Values)
            topic.InMesh = false;
    }

    public void Graft(PeerId peer, string topic)
    {
        if (Topic(peer, topic) is { } t)
        {
            t.InMesh = true;
            t.GraftedAt = _time.GetTimestamp();
            t.MeshActive = false;
        }
    }

    public void Prune(PeerId peer, string topic)
    {
        if (_params is null || Topic(peer, topic) is not { } t)
            return;
        var p = _params.For(topic);
        if (t.MeshActive && t.MeshDeliveries < p.MeshMessageDeliveriesThreshold)
        {
            double deficit = p.MeshMessageDeliveriesThreshold - t.MeshDeliveries;
            t.MeshFailurePenalty += deficit * deficit;
        }
        t.InMesh = false;
    }

    /// <summary>A new valid message first arrived from <paramref name="peer"/>.</summary>
    public void FirstDelivery(PeerId peer, MessageId id, string topic)
    {
        if (_params is null)
            return;
        _firstDelivered[id] = _time.GetTimestamp();
        if (Topic(peer, topic) is not { } t)
            return;
        var p = _params.For(topic);
        t.FirstDeliveries = Math.Min(p.FirstMessageDeliveriesCap, t.FirstDeliveries + 1);
        if (t.InMesh)
            t.MeshDeliveries = Math.Min(p.MeshMessageDeliveriesCap, t.MeshDeliveries + 1);
    }

    /// <summary>A copy of a message seen before arrived from <paramref name="peer"/>: a mesh delivery if within the window.</summary>
    public void Duplicate(PeerId peer, MessageId id, string topic)
    {
        if (_params is null || !_firstDelivered.TryGetValue(id, out long first) || Topic(peer, topic) is not { InMesh: true } t)
            return;
        var p = _params.For(topic);
        if (_time.GetElapsedTime(first) <= p.MeshMessageDeliveriesWindow)
            t.MeshDeliveries = Math.Min(p.MeshMessageDeliveriesCap, t.MeshDeliveries + 1);
    }

    /// <summary>An invalid message (a bad signature, a malformed author) arrived from <paramref name="peer"/>.</summary>
    public void Invalid(PeerId peer, string topic)
    {
        if (Topic(peer, topic) is { } t)
            t.InvalidDeliveries += 1;
    }

    /// <summary>P7: a broken promise, a GRAFT during a backoff.</summary>
    public void AddPenalty(PeerId peer, double count)
    {
        if (_params is not null && _peers.TryGetValue(peer, out var stats))
            stats.BehaviourPenalty += count;
    }

    public double Score(PeerId peer)
    {
        if (_params is null || !_peers.TryGetValue(peer, out var stats))
            return 0;
        double topics = 0;
        long now = _time.GetTimestamp();
        foreach (var (name, t) in stats.Topics)
        {
            var p = _params.For(name);
            double score = 0;
            if (t.InMesh)
            {
                double inMesh = _time.GetElapsedTime(t.GraftedAt, now) / p.TimeInMeshQuantum;
                score += Math.Min(inMesh, p.TimeInMeshCap) * p.TimeInMeshWeight;
            }
            score += t.FirstDeliveries * p.FirstMessageDeliveriesWeight;
            if (t.InMesh && t.MeshActive && t.MeshDeliveries < p.MeshMessageDeliveriesThreshold)
            {
                double deficit = p.MeshMessageDeliveriesThreshold - t.MeshDeliveries;
                score += deficit * deficit * p.MeshMessageDeliveriesWeight;
            }
            score += t.MeshFailurePenalty * p.MeshFailurePenaltyWeight;
            score += t.InvalidDeliveries * t.InvalidDeliveries * p.InvalidMessageDeliveriesWeight;
            topics += score * p.TopicWeight;
        }
        double total = Math.Min(topics, _params.TopicScoreCap); // the cap bounds only the positive part
        if (stats.Address is { } address && _peersPerAddress.GetValueOrDefault(address) is var n && n > _params.IPColocationFactorThreshold)
        {
            double surplus = n - _params.IPColocationFactorThreshold;
            total += surplus * surplus * _params.IPColocationFactorWeight;
        }
        if (stats.BehaviourPenalty > _params.BehaviourPenaltyThreshold)
        {
            double excess = stats.BehaviourPenalty - _params.BehaviourPenaltyThreshold;
            total += excess * excess * _params.BehaviourPenaltyWeight;
        }
        return total;
    }

    /// <summary>Decays the counters by the decay intervals passed, activates P3 for peers long enough in a mesh, and forgets expired peers.</summary>
    public void Refresh()
    {
        if (_params is null)
            return;
        long now = _time.GetTimestamp();
        int intervals = (int)Math.Min(1000, _time.GetElapsedTime(_lastDecay, now) / _params.DecayInterval);
        if (intervals > 0)
            _lastDecay = now;
        List<PeerId>? expired = null;
        foreach (var (peer, stats) in _peers)
        {
            if (!stats.Connected && now >= stats.ExpiresAt)
            {
                (expired ??= []).Add(peer);
                continue;
            }
            if (intervals == 0)
                continue;
            foreach (var (name, t) in stats.Topics)
            {
                var p = _params.For(name);
                t.FirstDeliveries = Decay(t.FirstDeliveries, p.FirstMessageDeliveriesDecay, intervals);
                t.MeshDeliveries = Decay(t.MeshDeliveries, p.MeshMessageDeliveriesDecay, intervals);
                t.MeshFailurePenalty = Decay(t.MeshFailurePenalty, p.MeshFailurePenaltyDecay, intervals);
                t.InvalidDeliveries = Decay(t.InvalidDeliveries, p.InvalidMessageDeliveriesDecay, intervals);
                if (t.InMesh && _time.GetElapsedTime(t.GraftedAt, now) >= p.MeshMessageDeliveriesActivation)
                    t.MeshActive = true;
            }
            stats.BehaviourPenalty = Decay(stats.BehaviourPenalty, _params.BehaviourPenaltyDecay, intervals);
        }
        foreach (var peer in expired ?? [])
            _peers.Remove(peer);
        // P3's window is milliseconds; a second's worth of first deliveries is plenty to keep.
        if (_firstDelivered.Count > 0)
        {
            long horizon = now - _time.TimestampFrequency;
            foreach (var (id, at) in _firstDelivered)
            {
                if (at < horizon)
                    _firstDelivered.Remove(id);
            }
        }
    }

    private double Decay(double value, double factor, int intervals)
    {
        value *= Math.Pow(factor, intervals);
        return Math.Abs(value) < _params!.DecayToZero ? 0 : value;
    }

    private TopicStats? Topic(PeerId peer, string topic)
    {
        if (_params is null || !_peers.TryGetValue(peer, out var stats))
            return null;
        if (!stats.Topics.TryGetValue(topic, out var t))
            stats.Topics[topic] = t = new TopicStats();
        return t;
    }

    private sealed class PeerStats
    {
        public bool Connected;
        public long ExpiresAt;
        public IPAddress? Address;
        public double BehaviourPenalty;
        public readonly Dictionary<string, TopicStats> Topics = new(StringComparer.Ordinal);
    }

    private sealed class TopicStats
    {
        public bool InMesh;
        public bool MeshActive;
        public long GraftedAt;
        public double FirstDeliveries;
        public double MeshDeliveries;
        public double MeshFailurePenalty;
        public double InvalidDeliveries;
    }
}
