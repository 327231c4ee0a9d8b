namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// What one decoded RPC may hold. A count past a limit makes the whole RPC malformed (as js-libp2p's decoder does),
/// so a hostile peer cannot make us allocate more entries than these; the byte size is capped before decoding by
/// <see cref="GossipsubProtocol.ReadRpcAsync"/>.
/// </summary>
public sealed record RpcLimits
{
    /// <summary>Subscription changes in one RPC (js: 5,000).</summary>
    public int MaxSubscriptions { get; init; } = 5000;

    /// <summary>Messages in one RPC (js: 5,000).</summary>
    public int MaxMessages { get; init; } = 5000;

    /// <summary>IHAVE, IWANT, GRAFT, PRUNE and IDONTWANT entries, each kind counted on its own (js: 5,000).</summary>
    public int MaxControlEntries { get; init; } = 5000;

    /// <summary>Message ids in one IHAVE or IWANT (js: 5,000, the spec's max_ihave_length).</summary>
    public int MaxMessageIds { get; init; } = 5000;

    /// <summary>Message ids in one IDONTWANT (js: 512).</summary>
    public int MaxIDontWantIds { get; init; } = 512;

    /// <summary>Peers offered in one PRUNE's peer exchange (the spec's PrunePeers: 16).</summary>
    public int MaxPeerExchange { get; init; } = 16;

    /// <summary>The longest topic name, in UTF-8 bytes.</summary>
    public int MaxTopicLength { get; init; } = 1024;

    /// <summary>The longest message id (rust's default id is about 60 bytes, js's 44).</summary>
    public int MaxMessageIdLength { get; init; } = 1024;

    /// <summary>The defaults.</summary>
    public static RpcLimits Default { get; } = new();
}
