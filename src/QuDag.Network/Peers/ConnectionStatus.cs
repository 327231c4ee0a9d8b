namespace QuDag.Network;

/// <summary>The status of a peer's connection, as in QuDAG.</summary>
public enum ConnectionStatus
{
    /// <summary>The connection is active.</summary>
    Connected,

    /// <summary>The connection is being established (TCP, TLS and HELLO).</summary>
    Connecting,

    /// <summary>The connection was closed or released to the idle pool.</summary>
    Disconnected,

    /// <summary>The connection failed; the reason is kept with the peer.</summary>
    Failed,
}
