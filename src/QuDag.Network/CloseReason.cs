namespace QuDag.Network;

/// <summary>
/// Why a connection ended: one value from a small closed set on every close, so an operator can count and filter them
/// (rust-libp2p #844 and #2484: "why did this peer disconnect?"). The free text beside it (the status event's
/// <see cref="ConnectionStatusChangedEventArgs.Reason"/>) says the detail.
/// </summary>
public enum CloseReason
{
    /// <summary>The connection manager trimmed it: above the high watermark, or to make room at the hard cap.</summary>
    Trimmed,

    /// <summary>A resource limit refused or closed it; the scope is named beside it (system, peer, ...).</summary>
    Limit,

    /// <summary>It waited in the idle pool for the pool timeout.</summary>
    IdleExpired,

    /// <summary>A keepalive ping went unanswered.</summary>
    KeepAliveFailed,

    /// <summary>The remote closed it in order (yamux GoAway, or the end of the connection).</summary>
    RemoteClosed,

    /// <summary>The connection was reset or lost (a TCP reset, an I/O error).</summary>
    RemoteReset,

    /// <summary>The remote broke the muxer's or one of our protocols' rules.</summary>
    ProtocolError,

    /// <summary>The connection gater refused the peer.</summary>
    Gated,

    /// <summary>The remote proved another identity than the one dialed.</summary>
    IdentityMismatch,

    /// <summary>This node closed it: a disconnect, a duplicate of a simultaneous dial, a cleared pool.</summary>
    LocalDisconnect,

    /// <summary>The manager was disposed.</summary>
    Shutdown,
}

/// <summary>The reasons' attribute values (snake_case, as OpenTelemetry's attribute values are).</summary>
public static class CloseReasons
{
    private static readonly string[] s_names =
        ["trimmed", "limit", "idle_expired", "keepalive_failed", "remote_closed", "remote_reset", "protocol_error", "gated",
         "identity_mismatch", "local_disconnect", "shutdown"];

    /// <summary>How many reasons there are (the metrics keep a counter per reason).</summary>
    public static int Count => s_names.Length;

    /// <summary>The reason's attribute value.</summary>
    public static string Name(CloseReason reason) => s_names[(int)reason];
}
