using QuDag.P2p.Resources;

namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>
    /// The resource scopes every connection and stream reserves in (the host's): usage by scope, limits that change
    /// live, the allowlist, and the refusals (<see cref="ResourceManager.Blocked"/>).
    /// </summary>
    public ResourceManager Resources => _host.Resources;

    /// <summary>
    /// Protects a peer from trims under <paramref name="tag"/> (go-libp2p's Protect): its connection is never trimmed
    /// while any tag protects it. Several tags may protect one peer; each is removed on its own. A peer not yet connected
    /// may be protected: it joins the table as a known peer, so its protection shows before it connects.
    /// </summary>
    public void Protect(PeerId peerId, string tag)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        ThrowIfDisposed();
        _peers.GetOrAddNamed(peerId); // listed (and kept) by the table, connected or not: GetPeer shows the protection
        _dialer.Trimmer.Tags.Protect(peerId, tag);
    }

    /// <summary>Removes one protection of a peer; returns whether another tag still protects it.</summary>
    public bool Unprotect(PeerId peerId, string tag)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        ThrowIfDisposed();
        return _dialer.Trimmer.Tags.Unprotect(peerId, tag);
    }

    /// <summary>Whether a peer is protected: by <paramref name="tag"/>, or by any tag when null.</summary>
    public bool IsProtected(PeerId peerId, string? tag = null) => _dialer.Trimmer.Tags.IsProtected(peerId, tag);

    /// <summary>
    /// Sets one of a peer's tags (go-libp2p's TagPeer): the peer's value, which trims close the lowest first, is the sum
    /// of its tags' weights. With <paramref name="decay"/> the weight falls linearly to zero over that time, then the
    /// tag is gone (a decaying tag: recent usefulness that fades).
    /// </summary>
    public void TagPeer(PeerId peerId, string tag, int value, TimeSpan? decay = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        if (decay is { } d && d < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(decay), decay, "A tag's decay cannot be negative.");
        ThrowIfDisposed();
        _peers.GetOrAddNamed(peerId);
        _dialer.Trimmer.Tags.Tag(peerId, tag, value, decay);
    }

    /// <summary>Removes one of a peer's tags; false if it had none by that name.</summary>
    public bool UntagPeer(PeerId peerId, string tag)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        ThrowIfDisposed();
        return _dialer.Trimmer.Tags.Untag(peerId, tag);
    }

    /// <summary>A peer's tags with their weights now.</summary>
    public IReadOnlyDictionary<string, int> GetPeerTags(PeerId peerId) => _dialer.Trimmer.Tags.TagsOf(peerId);

    /// <summary>
    /// Trims now, whatever the silence period (go-libp2p's TrimOpenConns): closes the lowest-value connections past
    /// their grace period, protected peers aside, until <see cref="ConnectionManagerOptions.LowWater"/> remain. Returns
    /// how many it closed; none when no low watermark is set.
    /// </summary>
    public Task<int> TrimAsync()
    {
        ThrowIfDisposed();
        return _dialer.Trimmer.TrimAsync();
    }

    /// <summary>When the last trim ran, or null.</summary>
    public DateTimeOffset? LastTrim => _dialer.Trimmer.LastTrim;

    private static ResourceManagerOptions WithMaxConnections(ResourceManagerOptions resources, int maxConnections) =>
        resources with { System = WithMaxConnections(resources.System, resources.MemoryBudgetBytes, maxConnections, previousMax: null) };

    /// <summary>
    /// The system scope's limits under a manager: MaxConnections is its total, both ways together. A direction's limit
    /// follows it while nobody chose one: it is the machine-scaled default (4,037 outbound on a 24 GiB machine) raised to
    /// MaxConnections when lower, or <c>new ConnectionManager(10_000)</c> would stop at the default without saying why.
    /// A direction limit set on purpose (any other value) stays as set.
    /// </summary>
    internal static ResourceLimits WithMaxConnections(ResourceLimits system, long memoryBudgetBytes, int maxConnections, int? previousMax)
    {
        var scaled = new ResourceManagerOptions(memoryBudgetBytes).System;
        int Direction(int current, int scaledDefault)
        {
            bool follows = current == scaledDefault || (previousMax is { } before && current == Math.Max(scaledDefault, before));
            return follows ? Math.Max(scaledDefault, maxConnections) : current;
        }
        return system with
        {
            Connections = maxConnections,
            ConnectionsInbound = Direction(system.ConnectionsInbound, scaled.ConnectionsInbound),
            ConnectionsOutbound = Direction(system.ConnectionsOutbound, scaled.ConnectionsOutbound),
        };
    }
}
