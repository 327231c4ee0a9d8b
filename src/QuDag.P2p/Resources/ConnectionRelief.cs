namespace QuDag.P2p.Resources;

/// <summary>
/// Asked when the system scope has no room for a new connection: the owner may close something (an idle pooled
/// connection, or a connection it trims) and return true once that connection's slot is back, or false when nothing
/// can go. The resource manager then tries again, and refuses only after a false.
/// </summary>
/// <param name="inbound">The connection that waits for room was accepted (true) or is being dialed.</param>
/// <param name="cancellationToken">The waiting connection's token.</param>
public delegate ValueTask<bool> ConnectionRelief(bool inbound, CancellationToken cancellationToken);
