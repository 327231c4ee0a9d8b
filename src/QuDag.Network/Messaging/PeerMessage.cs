namespace QuDag.Network;

/// <summary>A DATA message received from a peer.</summary>
/// <param name="PeerId">The sender, as authenticated by TLS.</param>
/// <param name="Payload">The message bytes.</param>
/// <param name="ReceivedAt">When it arrived (the manager's clock).</param>
public sealed record PeerMessage(PeerId PeerId, ReadOnlyMemory<byte> Payload, DateTimeOffset ReceivedAt);
