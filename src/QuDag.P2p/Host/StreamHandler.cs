using QuDag.P2p.Muxing;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Host;

/// <summary>
/// Serves one inbound stream already negotiated to the handler's protocol. The host disposes the stream
/// when the handler returns; the token is cancelled when the host shuts down.
/// </summary>
public delegate Task StreamHandler(MuxedStream stream, P2pConnection connection, CancellationToken cancellationToken);
