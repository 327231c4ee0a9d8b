namespace QuDag.P2p.Resources;

/// <summary>
/// The limits of one scope: connections and streams by direction and in total, and bytes of memory. A value of
/// <see cref="Unlimited"/> (or <see cref="long.MaxValue"/> for memory) does not limit; 0 refuses everything.
/// </summary>
public sealed record ResourceLimits
{
    /// <summary>No limit on a count.</summary>
    public const int Unlimited = int.MaxValue;

    /// <summary>A scope that limits nothing.</summary>
    public static ResourceLimits None { get; } = new();

    public int ConnectionsInbound { get; init; } = Unlimited;

    public int ConnectionsOutbound { get; init; } = Unlimited;

    /// <summary>Connections both ways together.</summary>
    public int Connections { get; init; } = Unlimited;

    public int StreamsInbound { get; init; } = Unlimited;

    public int StreamsOutbound { get; init; } = Unlimited;

    /// <summary>Streams both ways together.</summary>
    public int Streams { get; init; } = Unlimited;

    /// <summary>Bytes buffered for the scope's streams (yamux receive buffers).</summary>
    public long MemoryBytes { get; init; } = long.MaxValue;

    /// <summary>Throws when a limit is negative.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is negative; its name is the parameter name.</exception>
    public void Validate()
    {
        Check(ConnectionsInbound, nameof(ConnectionsInbound));
        Check(ConnectionsOutbound, nameof(ConnectionsOutbound));
        Check(Connections, nameof(Connections));
        Check(StreamsInbound, nameof(StreamsInbound));
        Check(StreamsOutbound, nameof(StreamsOutbound));
        Check(Streams, nameof(Streams));
        if (MemoryBytes < 0)
            throw new ArgumentOutOfRangeException(nameof(MemoryBytes), MemoryBytes, "MemoryBytes cannot be negative.");
    }

    private static void Check(int value, string name)
    {
        if (value < 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} cannot be negative.");
    }
}
