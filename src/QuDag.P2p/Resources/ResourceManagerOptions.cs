namespace QuDag.P2p.Resources;

/// <summary>
/// The limits of a <see cref="ResourceManager"/>. The defaults scale with the machine's memory as go-libp2p's do
/// (<see cref="ResourceManagerOptions(long)"/>): a budget of an eighth of the memory the process may use, a base for a small node and an
/// increase per GiB of budget. They are generous on purpose: they stop abuse, not ordinary traffic (see
/// docs/RELIABILITY.md "Resource limits" for the table).
/// </summary>
public sealed record ResourceManagerOptions
{
    private const long MiB = 1024 * 1024;

    /// <summary>Limits for this machine (scaled as <see cref="ResourceManagerOptions(long)"/> to an eighth of the memory .NET may use).</summary>
    public ResourceManagerOptions()
        : this(MachineBudget())
    {
    }

    /// <summary>Limits scaled to <paramref name="memoryBudgetBytes"/> (at least 128 MiB is assumed).</summary>
    public ResourceManagerOptions(long memoryBudgetBytes)
    {
        long budget = Math.Max(memoryBudgetBytes, 128 * MiB);
        // Whole MiB above the 128 MiB base, as go's scale(): increases are per GiB, so inc * mib / 1024.
        long mib = memoryBudgetBytes > 128 * MiB ? memoryBudgetBytes / MiB : 0;
        int Scale(int @base, int perGiB) => (int)Math.Min(int.MaxValue - 1, @base + perGiB * mib / 1024);
        long ScaleBytes(long @base, long perGiB) => @base + perGiB * mib / 1024;
        MemoryBudgetBytes = budget;
        System = new ResourceLimits
        {
            ConnectionsInbound = Scale(1024, 1024),
            ConnectionsOutbound = Scale(1024, 1024),
            Connections = Scale(1024, 1024),
            StreamsInbound = Scale(16 * 1024, 16 * 1024),
            StreamsOutbound = Scale(16 * 1024, 16 * 1024),
            Streams = Scale(16 * 1024, 16 * 1024),
            MemoryBytes = budget,
        };
        Transient = new ResourceLimits
        {
            ConnectionsInbound = Scale(128, 64),
            ConnectionsOutbound = Scale(256, 128),
            Connections = Scale(256, 128),
        };
        PeerDefault = new ResourceLimits
        {
            ConnectionsInbound = 8,
            ConnectionsOutbound = 8,
            Connections = 8,
            StreamsInbound = Scale(2048, 512),
            StreamsOutbound = Scale(2048, 512),
            Streams = Scale(4096, 1024),
            MemoryBytes = ScaleBytes(256 * MiB, 128 * MiB),
        };
        ProtocolDefault = new ResourceLimits
        {
            StreamsInbound = Scale(4096, 1024),
            StreamsOutbound = Scale(4096, 1024),
            Streams = Scale(8192, 2048),
            MemoryBytes = ScaleBytes(256 * MiB, 256 * MiB),
        };
    }

    /// <summary>The memory the defaults were scaled to: an eighth of the machine's (or the container's) memory.</summary>
    public long MemoryBudgetBytes { get; init; }

    /// <summary>
    /// Off: only the system scope's connection count and limits are kept (a connection manager's MaxConnections holds
    /// either way, as the seed's contract says); no transient, peer, protocol, stream or memory accounting, no subnet
    /// limits, no process memory bound. What the scopes benchmark compares against.
    /// </summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Every connection from its open (pending and established, both ways) and all streams. Its
    /// <see cref="ResourceLimits.Connections"/> is the manager's MaxConnections when a ConnectionManager owns the host.</summary>
    public ResourceLimits System { get; init; }

    /// <summary>Pending connections: accepted or dialed, their peer not proven yet.</summary>
    public ResourceLimits Transient { get; init; }

    /// <summary>Each peer's limits unless <see cref="Peers"/> names it.</summary>
    public ResourceLimits PeerDefault { get; init; }

    /// <summary>Limits for named peers (by their full id text).</summary>
    public IReadOnlyDictionary<string, ResourceLimits> Peers { get; init; } = new Dictionary<string, ResourceLimits>();

    /// <summary>Each protocol's limits unless <see cref="Protocols"/> names it.</summary>
    public ResourceLimits ProtocolDefault { get; init; }

    /// <summary>Limits for named protocols.</summary>
    public IReadOnlyDictionary<string, ResourceLimits> Protocols { get; init; } = new Dictionary<string, ResourceLimits>();

    /// <summary>One connection: what its streams may buffer together (yamux bounds it anyway: 1,024 streams x 256 KiB).</summary>
    public ResourceLimits Connection { get; init; } = new() { MemoryBytes = 256 * MiB };

    /// <summary>One stream: what it may buffer (yamux's window bounds it anyway: 256 KiB by default, at most 16 MiB).</summary>
    public ResourceLimits Stream { get; init; } = new() { MemoryBytes = 16 * MiB };

    /// <summary>Per-subnet limits on inbound connections: count and rate (the pending count is the host's
    /// MaxPendingInboundUpgradesPerAddress).</summary>
    public InboundSubnetLimits InboundSubnets { get; init; } = new();

    /// <summary>
    /// Addresses (multiaddrs such as <c>/ip4/10.0.0.0/ipcidr/8</c>, <c>/ip4/1.2.3.4/p2p/12D3KooW...</c>, or CIDR text such
    /// as <c>10.0.0.0/8</c>) whose connections bypass the system, transient and subnet limits (not a peer's own limits).
    /// With a /p2p part, only that peer at that address is exempt: another peer there counts as usual once its
    /// handshake proves who it is.
    /// </summary>
    public IReadOnlyList<string> Allowlist { get; init; } = [];

    /// <summary>
    /// Refuse new connections, both ways, while the process's resident memory is above this many bytes (rust-libp2p's
    /// memory-connection-limits); read at most every 100 ms. Null: no bound.
    /// </summary>
    public long? MaxProcessMemoryBytes { get; init; }

    /// <summary>Checks every limit.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is negative or a subnet setting out of range.</exception>
    /// <exception cref="FormatException">An allowlist entry is not an address, a CIDR or a multiaddr.</exception>
    public void Validate()
    {
        System.Validate();
        Transient.Validate();
        PeerDefault.Validate();
        ProtocolDefault.Validate();
        Connection.Validate();
        Stream.Validate();
        foreach (var limits in Peers.Values)
            limits.Validate();
        foreach (var limits in Protocols.Values)
            limits.Validate();
        InboundSubnets.Validate();
        foreach (var entry in Allowlist)
            AllowlistEntry.Parse(entry);
        if (MaxProcessMemoryBytes is < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxProcessMemoryBytes), MaxProcessMemoryBytes, "MaxProcessMemoryBytes must be positive.");
    }

    /// <summary>An eighth of the memory this process may use (the machine's, or a container's limit), as go's AutoScale.</summary>
    public static long MachineBudget() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 8;
}
