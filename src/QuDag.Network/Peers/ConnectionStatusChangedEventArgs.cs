namespace QuDag.Network;

/// <summary>A peer's status changed.</summary>
public sealed class ConnectionStatusChangedEventArgs(PeerId peerId, ConnectionStatus? oldStatus, ConnectionStatus newStatus, string? reason)
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

    /// <inheritdoc/>
    public override string ToString() => $"{PeerId.ToShortString()}: {OldStatus?.ToString() ?? "(new)"} -> {NewStatus}{(Reason is null ? "" : $" ({Reason})")}";
}
