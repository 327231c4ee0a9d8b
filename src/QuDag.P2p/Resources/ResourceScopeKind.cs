namespace QuDag.P2p.Resources;

/// <summary>
/// Where a reservation is counted, as go-libp2p's resource manager names its scopes. A connection counts in the
/// transient scope until its security handshake proves the peer, then in that peer's scope and the system scope; a
/// stream counts in its peer's and the system scope, and in its protocol's once negotiated. Subnet and process are
/// the checks made before a connection gets a scope at all.
/// </summary>
public enum ResourceScopeKind
{
    /// <summary>Everything established: the node as a whole.</summary>
    System,

    /// <summary>Connections whose peer is not known yet (pending: being upgraded).</summary>
    Transient,

    /// <summary>One remote peer: its connections, streams and their memory.</summary>
    Peer,

    /// <summary>One protocol: the streams negotiated to it, from every peer.</summary>
    Protocol,

    /// <summary>One connection: the memory its streams buffer.</summary>
    Connection,

    /// <summary>One stream: the memory it buffers.</summary>
    Stream,

    /// <summary>An inbound subnet (/32, /64 by default): its connection count and rate.</summary>
    Subnet,

    /// <summary>The whole process: its resident memory against <see cref="ResourceManagerOptions.MaxProcessMemoryBytes"/>.</summary>
    Process,
}
