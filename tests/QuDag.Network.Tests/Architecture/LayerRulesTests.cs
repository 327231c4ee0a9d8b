using System.Reflection;

using QuDag.P2p.Tests.Architecture;

namespace QuDag.Network.Tests.Architecture;

/// <summary>
/// Holds the dependency rules of docs/ARCHITECTURE.md over the compiled QuDag.Network: the facade uses Dialing; Dialing uses Peers,
/// Pool, Policy, Metrics and Messaging; Peers, Pool, Policy and Metrics never use each other (nor anything above them);
/// Messaging and Topics only record into Metrics; Discovery (the DHT's use) reaches peers through Dialing only, and its
/// crawler (namespace QuDag.Network.Discovery) through a host of its own, using no part of the manager. Shared holds the vocabulary every layer speaks (options, errors, one enum).
/// A layer is its folder; the map below names each folder's types, and every type must be on it.
/// docs/ARCHITECTURE.md describes the layers and these rules; keep the two in step.
/// </summary>
public sealed class LayerRulesTests
{
    private static readonly Assembly s_network = typeof(ConnectionManager).Assembly;

    private static readonly Dictionary<string, Type[]> s_layers = new()
    {
        ["Facade"] = [typeof(ConnectionManager)],
        ["Shared"] = [typeof(ConnectionManagerOptions), typeof(ConnectFailureKind), typeof(ConnectFailures), typeof(CircuitState),
            typeof(CloseReason), typeof(CloseReasons),
            .. s_network.GetTypes().Where(t => !t.IsNested && typeof(Exception).IsAssignableFrom(t))],
        ["Dialing"] = [typeof(Dialer), typeof(OutboundDialer), typeof(InboundAdmission), typeof(PeerActivation), typeof(DialBreaker),
            typeof(DialerLifetime), typeof(LiveConnections), typeof(PeerEntry), typeof(ConnectionSummary), typeof(PeerConnection), typeof(CloseInfo), typeof(IConnectionOwner),
            typeof(HostGater), typeof(PeerListener), typeof(DepartedPeers), typeof(ForgetOutcome)],
        ["Peers"] = [typeof(PeerTable<>), typeof(PeerRecord), typeof(PeerInfo), typeof(ConnectionStatus),
            typeof(ConnectionStatusChangedEventArgs), typeof(PeerIdOrder), typeof(ConnectionEventLog), typeof(ConnectionEvent), typeof(PeerClose)],
        ["Pool"] = [typeof(IdlePool<>), typeof(IdlePool), typeof(IIdleConnection), typeof(PooledConnectionInfo)],
        ["Policy"] = [typeof(ConnectionGater), typeof(GateDirection), typeof(PeerCircuit), typeof(KeepAliveMonitor),
            typeof(IKeepAliveTarget), typeof(Reconnector), typeof(ReconnectState), typeof(IRedialer),
            typeof(ConnectionTrimmer), typeof(ITrimTarget), typeof(TrimSettings), typeof(PeerTags)],
        ["Metrics"] = [typeof(ManagerMetrics), typeof(LatencyHistogram), typeof(RateWindow), typeof(NetworkMetrics),
            typeof(RoundTripHistory), typeof(RoundTripSample), typeof(TopicMetrics), typeof(TopicFigures), typeof(ReplayableHistogram)],
        ["Topics"] = [typeof(TopicService), typeof(TopicInbox), typeof(TopicMessage), typeof(TopicPublishResult), typeof(TopicInfo), typeof(PeerExchangeDialer)],
        ["Discovery"] = [typeof(PeerDiscovery),
            .. s_network.GetTypes().Where(t => !t.IsNested && t.Namespace == "QuDag.Network.Discovery")],
        ["Messaging"] = [typeof(PeerMessage), typeof(Inbox),
            .. s_network.GetTypes().Where(t => !t.IsNested && t.Namespace == "QuDag.Network.Messaging")],
    };

    // What each layer may use besides itself; anything outside QuDag.Network (the stack, the platform) is free.
    private static readonly Dictionary<string, string[]> s_allowed = new()
    {
        ["Facade"] = ["Shared", "Dialing", "Peers", "Pool", "Policy", "Metrics", "Messaging", "Discovery", "Topics"],
        // The DHT's use: streams through the dialer, nothing below it directly.
        ["Discovery"] = ["Shared", "Dialing"],
        // Gossip as the module sees it: the router (QuDag.P2p) fed with the host's connections; records into Metrics only.
        ["Topics"] = ["Shared", "Metrics"],
        ["Dialing"] = ["Shared", "Peers", "Pool", "Policy", "Metrics", "Messaging"],
        ["Messaging"] = ["Shared", "Metrics"],
        ["Peers"] = ["Shared"],
        ["Pool"] = ["Shared"],
        ["Policy"] = ["Shared"],
        ["Metrics"] = ["Shared"],
        // The vocabulary may name the policy it configures (the gater) but nothing that runs connections.
        ["Shared"] = ["Policy", "Peers"],
    };

    private static Dictionary<Type, string> LayerOf() =>
        s_layers.SelectMany(l => l.Value.Select(t => (Type: t, Layer: l.Key))).ToDictionary(x => x.Type, x => x.Layer);

    [Fact]
    public void Every_type_belongs_to_exactly_one_layer()
    {
        var mapped = s_layers.SelectMany(l => l.Value).ToList();
        Assert.Equal(mapped.Count, mapped.Distinct().Count());
        var unmapped = TypeReferences.DeclaredTypes(s_network).Where(t => !mapped.Contains(t)).Select(t => t.FullName).ToList();
        Assert.True(unmapped.Count == 0, "Types in no layer (add them to the map): " + string.Join(", ", unmapped));
    }

    [Fact]
    public void Layers_use_only_the_layers_below_them()
    {
        var layerOf = LayerOf();
        var violations = new List<string>();
        foreach (var (type, layer) in layerOf)
        {
            foreach (var used in TypeReferences.Of(type))
            {
                if (used.Assembly != s_network || !layerOf.TryGetValue(used, out var usedLayer) || usedLayer == layer)
                    continue;
                if (!s_allowed[layer].Contains(usedLayer))
                    violations.Add($"{layer} -> {usedLayer}: {type.Name} uses {used.Name}");
            }
        }
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations.Order()));
    }

    [Fact]
    public void The_crawler_uses_no_part_of_the_manager()
    {
        // It runs its own host: a crawl of thousands must not fill the manager's peer table, pool or limits.
        var layerOf = LayerOf();
        var crawler = s_network.GetTypes().Where(t => !t.IsNested && t.Namespace == "QuDag.Network.Discovery").ToList();
        Assert.Contains(typeof(QuDag.Network.Discovery.Crawler), crawler);
        var used = crawler.SelectMany(t => TypeReferences.Of(t).Select(u => (t, u)))
            .Where(x => x.u.Assembly == s_network && !x.u.Name.StartsWith('<') && x.u.Namespace != "QuDag.Network.Discovery" && layerOf.GetValueOrDefault(x.u) != "Shared")
            .Select(x => $"{x.t.Name} uses {x.u.Name}").ToList();
        Assert.True(used.Count == 0, string.Join(Environment.NewLine, used));
    }

    [Fact]
    public void The_rules_test_sees_calls_in_method_bodies()
    {
        // Guards the scanner itself: the breaker news up a PeerCircuit only inside a method body.
        Assert.Contains(typeof(PeerCircuit), TypeReferences.Of(typeof(DialBreaker)));
        Assert.Contains(typeof(Dialer), TypeReferences.Of(typeof(ConnectionManager)));
        Assert.DoesNotContain(typeof(Dialer), TypeReferences.Of(typeof(Reconnector)));
    }

    [Fact]
    public void The_rules_test_sees_a_type_the_code_names_only_in_a_catch_clause()
    {
        // PeerConnection.OpenMessageStreamAsync names ProtocolNotSupportedException only in a catch clause: the type sits in
        // the method's exception table, not in its IL or any signature (without the scanner's catch clauses this fails).
        Assert.Contains(typeof(QuDag.P2p.ProtocolNotSupportedException), TypeReferences.Of(typeof(PeerConnection)));
    }
}
