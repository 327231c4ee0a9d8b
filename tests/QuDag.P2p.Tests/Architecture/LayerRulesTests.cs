using System.Reflection;

namespace QuDag.P2p.Tests.Architecture;

/// <summary>
/// Holds the dependency rules of docs/ARCHITECTURE.md over the compiled QuDag.P2p: Identity depends on nothing but Encoding;
/// Transport and Security use Identity; Resources uses Identity; Muxing uses Resources; Upgrade uses Transport,
/// Security, Muxing and Resources; each protocol uses Muxing,
/// Upgrade's multistream and Identity, never another protocol. Host ties them together. A layer is a namespace
/// (QuDag.P2p.&lt;Layer&gt;, and QuDag.P2p.Protocols.&lt;Name&gt; per protocol); QuDag.P2p itself holds the shared errors.
/// docs/ARCHITECTURE.md describes the layers and these rules; keep the two in step.
/// </summary>
public sealed class LayerRulesTests
{
    private static readonly Assembly s_p2p = typeof(QuDag.P2p.Identity.PeerId).Assembly;

    // What each layer may use besides itself; anything outside QuDag.P2p (the platform, NSec) is free.
    private static readonly Dictionary<string, string[]> s_allowed = new()
    {
        ["Shared"] = ["Identity", "Encoding"],
        ["Encoding"] = ["Shared"],
        ["Identity"] = ["Shared", "Encoding"],
        ["Transport"] = ["Shared", "Identity", "Encoding"],
        ["Security"] = ["Shared", "Identity", "Encoding"],
        // Scopes are below the muxer and the upgrader, which reserve in them; they know only peer ids.
        ["Resources"] = ["Shared", "Identity", "Encoding"],
        ["Muxing"] = ["Shared", "Identity", "Encoding", "Resources"],
        ["Upgrade"] = ["Shared", "Transport", "Security", "Muxing", "Identity", "Encoding", "Resources"],
        ["Protocols"] = ["Shared", "Muxing", "Upgrade", "Identity", "Encoding"],
    };

    // The fuzz harness calls a decoder of every layer, so it stands above them all, like Host. It lives in Encoding's
    // namespace today; its place is a namespace of its own (or QuDag.P2p.Fuzz), and then this exemption goes.
    private static readonly Type[] s_aboveAllLayers = [typeof(QuDag.P2p.Encoding.DecoderEntryPoints)];

    /// <summary>"Shared", a layer name, or "Protocols.&lt;Name&gt;"; Host is the top and has no rule.</summary>
    private static string LayerOf(Type type)
    {
        var parts = type.Namespace!.Split('.');
        if (parts.Length == 2)
            return "Shared";
        return parts[2] == "Protocols" && parts.Length > 3 ? "Protocols." + parts[3] : parts[2];
    }

    private static string RuleOf(string layer) => layer.StartsWith("Protocols.", StringComparison.Ordinal) ? "Protocols" : layer;

    [Fact]
    public void Layers_use_only_the_layers_below_them()
    {
        var violations = new List<string>();
        foreach (var type in TypeReferences.DeclaredTypes(s_p2p))
        {
            var layer = LayerOf(type);
            if (layer == "Host" || s_aboveAllLayers.Contains(type))
                continue;
            Assert.True(s_allowed.ContainsKey(RuleOf(layer)), $"{type.FullName} is in a layer with no rule: {layer}");
            foreach (var used in TypeReferences.Of(type))
            {
                if (used.Assembly != s_p2p || used.Namespace is null || !used.Namespace.StartsWith("QuDag.P2p", StringComparison.Ordinal))
                    continue;
                var usedLayer = LayerOf(used);
                if (usedLayer == layer)
                    continue;
                if (!s_allowed[RuleOf(layer)].Contains(usedLayer)) // another protocol is never allowed: "Protocols.X" is not a rule name
                    violations.Add($"{layer} -> {usedLayer}: {type.FullName} uses {used.FullName}");
            }
        }
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations.Order()));
    }

    [Fact]
    public void The_rules_test_sees_a_type_named_only_in_a_catch_clause()
    {
        Assert.Contains(typeof(System.Net.Sockets.SocketException), TypeReferences.Of(typeof(CatchOnly)));
    }

    private static class CatchOnly
    {
        public static void Run(Action action)
        {
            try
            {
                action();
            }
            catch (System.Net.Sockets.SocketException)
            {
            }
        }
    }

    [Fact]
    public void The_rules_test_sees_calls_in_method_bodies()
    {
        // Guards the scanner: the upgrader calls multistream-select and the security transports from method bodies.
        var used = TypeReferences.Of(typeof(QuDag.P2p.Upgrade.Upgrader));
        Assert.Contains(used, t => t.Namespace == "QuDag.P2p.Upgrade.Multistream");
        Assert.Contains(used, t => t.Namespace is "QuDag.P2p.Security");
    }
}
