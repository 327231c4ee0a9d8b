namespace QuDag.Network;

/// <summary>A peer's status changed.</summary>
public sealed class ConnectionStatusChangedEventArgs(PeerId peerId, ConnectionStatus? oldStatus, ConnectionStatus newStatus, string? reason,
    CloseReason? closeReason = null, string? closeScope = null)
    : EventArgs
{
    /// <summary>The peer whose status changed.</summary>
    public PeerId PeerId { get; } = peerId;

    /// <summary>The status before, or null for a peer seen for the first time.</summary>
    public ConnectionStatus? OldStatus { get; } = oldStatus;

    /// <summary>The status now.</summary>
    public ConnectionStatus NewStatus { get; } = newStatus;

    /// <summary>Why, for <see cref="ConnectionStatus.Failed"/> and for closes the remote asked for.</summary>
    public string? Reason { get; } = reason;

    /// <summary>When a connection ended (or a dial was refused by the gater, a limit or the remote's identity): why, from
    /// the closed set. Null for other changes.</summary>
    public CloseReason? CloseReason { get; } = closeReason;

    /// <summary>For <see cref="Network.CloseReason.Limit"/>: the scope whose limit it was ("system", "peer", ...).</summary>
    public string? CloseScope { get; } = closeScope;

    /// <inheritdoc/>
    public override string ToString() => $"{PeerId.ToShortString()}: {OldStatus?.ToString() ?? "(new)"} -> {NewStatus}{(CloseReason is { } c ? $" [{c}{(CloseScope is null ? "" : " " + CloseScope)}]" : "")}{(Reason is null ? "" : $" ({Reason})")}";
}
