using QuDag.P2p.Identity;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Resources;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Host;

/// <summary>Settings of a <see cref="P2pHost"/>. Defaults match rust-libp2p's QuDAG node where it has one.</summary>
public sealed class P2pHostOptions
{
    /// <summary>The node key; a fresh Ed25519 key when null (the host then owns and disposes it).</summary>
    public NodeIdentity? Identity { get; init; }

    /// <summary>Security protocols in order of preference: "/noise", "/tls/1.0.0".</summary>
    public IReadOnlyList<string> Security { get; init; } = [SecurityProtocols.Noise, SecurityProtocols.Tls];

    /// <summary>Agree the muxer inside the handshake (Noise extensions, TLS ALPN) to save a round trip.</summary>
    public bool EarlyMuxerNegotiation { get; init; } = true;

    /// <summary>Yamux settings (windows, stream limits).</summary>
    public YamuxOptions Yamux { get; init; } = new();

    /// <summary>Refuses dials, inbound sockets or peers; null allows everything.</summary>
    public IConnectionGater? Gater { get; init; }

    /// <summary>
    /// One deadline for a connection's whole setup: an outbound TCP connect and its upgrade (security + muxer)
    /// together, an inbound upgrade from the accept. 10 s, as js-libp2p allows an upgrade. The host's
    /// <see cref="P2pHost.ConnectTimeout"/> starts from it and can be changed while the host runs.
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The deadline for a remote to name a protocol on a stream it opened.</summary>
    public TimeSpan StreamNegotiationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Inbound connections being upgraded at once per listener; more wait in the kernel's backlog.</summary>
    public int MaxPendingInboundUpgrades { get; init; } = 64;

    /// <summary>
    /// How many inbound upgrades one subnet may have in progress at once (the pending stage of the per-subnet limits,
    /// <see cref="InboundSubnetLimits"/>: per address for IPv4, per /64 for IPv6 by default); a socket beyond it is
    /// closed at once and reported through <see cref="P2pHost.InboundUpgradeFailed"/> as
    /// <see cref="ResourceLimitExceededException"/> (scope Subnet). Loopback is not exempt.
    /// </summary>
    public int MaxPendingInboundUpgradesPerAddress { get; init; } = 8;

    /// <summary>
    /// The resource scopes' limits (system, transient, peer, protocol, memory, subnets, allowlist, process memory);
    /// the machine's scaled defaults unless set. <see cref="ResourceManagerOptions.Enabled"/> false turns accounting off.
    /// </summary>
    public ResourceManagerOptions Resources { get; init; } = new();

    /// <summary>Identify's protocolVersion: QuDAG's network id.</summary>
    public string ProtocolVersion { get; init; } = "/qudag/1.0.0";

    /// <summary>Identify's agentVersion.</summary>
    public string AgentVersion { get; init; } = $"qudag-ps/{typeof(P2pHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"}";

    /// <summary>Ask every new connection's remote who it is (identify), as rust and js do.</summary>
    public bool IdentifyOnConnect { get; init; } = true;

    /// <summary>The clock for handshake times and ping round trips.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>The security protocol ids.</summary>
public static class SecurityProtocols
{
    public const string Noise = "/noise";
    public const string Tls = "/tls/1.0.0";
}
