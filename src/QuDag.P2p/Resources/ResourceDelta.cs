namespace QuDag.P2p.Resources;

/// <summary>What one reservation adds to a scope: a connection or a stream (one way), or bytes of memory.</summary>
internal readonly record struct ResourceDelta(int ConnectionsInbound, int ConnectionsOutbound, int StreamsInbound, int StreamsOutbound, long Memory)
{
    public static ResourceDelta Connection(bool inbound) => inbound ? new(1, 0, 0, 0, 0) : new(0, 1, 0, 0, 0);

    public static ResourceDelta Stream(bool inbound) => inbound ? new(0, 0, 1, 0, 0) : new(0, 0, 0, 1, 0);

    public static ResourceDelta Bytes(long memory) => new(0, 0, 0, 0, memory);

    public ResourceDelta Plus(ResourceDelta other) => new(ConnectionsInbound + other.ConnectionsInbound,
        ConnectionsOutbound + other.ConnectionsOutbound, StreamsInbound + other.StreamsInbound,
        StreamsOutbound + other.StreamsOutbound, Memory + other.Memory);
}
