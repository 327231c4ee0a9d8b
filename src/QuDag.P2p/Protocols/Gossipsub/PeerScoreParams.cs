using System.Net;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// Peer scoring (gossipsub v1.1): the weights of P1-P7 and how the counters decay. rust and js score topics only when a
/// topic has parameters; here every topic uses <see cref="DefaultTopic"/> unless <see cref="Topics"/> names it, so that
/// invalid messages cost a peer its score out of the box. Decays are per <see cref="DecayInterval"/>.
/// </summary>
public sealed record PeerScoreParams
{
    /// <summary>Parameters of named topics.</summary>
    public IReadOnlyDictionary<string, TopicScoreParams> Topics { get; init; } = new Dictionary<string, TopicScoreParams>();

    /// <summary>Parameters of every other topic.</summary>
    public TopicScoreParams DefaultTopic { get; init; } = new();

    /// <summary>The cap on the positive part of the topic scores.</summary>
    public double TopicScoreCap { get; init; } = 10;

    /// <summary>P6: peers beyond this many on one IP address are penalised by the square of the surplus.</summary>
    public double IPColocationFactorThreshold { get; init; } = 10;

    public double IPColocationFactorWeight { get; init; } = -5;

    /// <summary>
    /// Loopback peers are not counted for P6: a remote attacker cannot present a loopback address, and local test
    /// meshes would otherwise penalise every peer.
    /// </summary>
    public bool IPColocationIgnoresLoopback { get; init; } = true;

    /// <summary>P7: broken IWANT promises and GRAFTs during a backoff, past the threshold, squared.</summary>
    public double BehaviourPenaltyWeight { get; init; } = -10;

    public double BehaviourPenaltyThreshold { get; init; }

    /// <summary>Per decay interval: about halved each minute.</summary>
    public double BehaviourPenaltyDecay { get; init; } = 0.99;

    public TimeSpan DecayInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A decayed counter below this reads 0.</summary>
    public double DecayToZero { get; init; } = 0.01;

    /// <summary>How long a disconnected peer's score is remembered, so leaving and coming back does not clear it.</summary>
    public TimeSpan RetainScore { get; init; } = TimeSpan.FromMinutes(10);

    internal TopicScoreParams For(string topic) => Topics.TryGetValue(topic, out var p) ? p : DefaultTopic;

    internal static bool IsLoopback(IPAddress? address) => address is not null && IPAddress.IsLoopback(address);
}

/// <summary>A topic's score parameters: P1 time in mesh, P2 first deliveries, P3/P3b mesh deliveries, P4 invalid messages.</summary>
public sealed record TopicScoreParams
{
    public double TopicWeight { get; init; } = 1;

    public double TimeInMeshWeight { get; init; } = 0.01;

    public TimeSpan TimeInMeshQuantum { get; init; } = TimeSpan.FromSeconds(1);

    public double TimeInMeshCap { get; init; } = 100;

    public double FirstMessageDeliveriesWeight { get; init; } = 1;

    public double FirstMessageDeliveriesDecay { get; init; } = 0.9;

    public double FirstMessageDeliveriesCap { get; init; } = 10;

    /// <summary>
    /// P3, the mesh delivery deficit: off by default, since on a quiet topic every mesh peer "under-delivers"; turn it on
    /// (negative weight, a threshold in messages) for topics with steady traffic.
    /// </summary>
    public double MeshMessageDeliveriesWeight { get; init; }

    public double MeshMessageDeliveriesDecay { get; init; } = 0.9;

    public double MeshMessageDeliveriesThreshold { get; init; } = 1;

    public double MeshMessageDeliveriesCap { get; init; } = 10;

    /// <summary>A duplicate this soon after the first delivery still counts as a mesh delivery.</summary>
    public TimeSpan MeshMessageDeliveriesWindow { get; init; } = TimeSpan.FromMilliseconds(10);

    public TimeSpan MeshMessageDeliveriesActivation { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>P3b, the sticky deficit of a peer pruned while under-delivering (off with P3).</summary>
    public double MeshFailurePenaltyWeight { get; init; }

    public double MeshFailurePenaltyDecay { get; init; } = 0.9;

    /// <summary>P4: invalid messages squared. -10 each: 2 fall below the gossip threshold, 3 below the graylist one.</summary>
    public double InvalidMessageDeliveriesWeight { get; init; } = -10;

    /// <summary>Per decay interval: about halved each minute.</summary>
    public double InvalidMessageDeliveriesDecay { get; init; } = 0.99;
}

/// <summary>What scores are compared with (the spec's thresholds; rust's and js's defaults).</summary>
public sealed record PeerScoreThresholds
{
    /// <summary>Below it a peer gets no gossip from us and its IHAVE/IWANT are ignored.</summary>
    public double GossipThreshold { get; init; } = -10;

    /// <summary>Below it a peer is not published to (flood publishing).</summary>
    public double PublishThreshold { get; init; } = -50;

    /// <summary>Below it everything a peer sends is ignored.</summary>
    public double GraylistThreshold { get; init; } = -80;

    /// <summary>Peer exchange is taken only from peers at least this good.</summary>
    public double AcceptPXThreshold { get; init; } = 10;

    /// <summary>Opportunistic grafting runs when the mesh's median score is below this.</summary>
    public double OpportunisticGraftThreshold { get; init; } = 20;

    internal void Validate()
    {
        if (GossipThreshold > 0 || PublishThreshold > GossipThreshold || GraylistThreshold > PublishThreshold)
            throw new ArgumentOutOfRangeException(nameof(GraylistThreshold), "The thresholds must be 0 >= gossip >= publish >= graylist.");
        if (AcceptPXThreshold < 0 || OpportunisticGraftThreshold < 0)
            throw new ArgumentOutOfRangeException(nameof(AcceptPXThreshold), "The peer exchange and opportunistic graft thresholds cannot be negative.");
    }
}
