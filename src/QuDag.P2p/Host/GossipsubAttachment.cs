using QuDag.P2p.Protocols.Gossipsub;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Host;

/// <summary>
/// Ties a <see cref="GossipRouter"/> to a <see cref="P2pHost"/>: every connection of the host is a pubsub candidate
/// (the router tries its protocols on it, as rust and js do) and the host serves the router's protocols. The router
/// knows no host, since protocols never use the layers above them; this is the glue. Disposing it unties them (the
/// router stays the caller's).
/// </summary>
public sealed class GossipsubAttachment : IDisposable
{
    private readonly P2pHost _host;
    private readonly GossipRouter _router;
    private int _disposed;

    private GossipsubAttachment(P2pHost host, GossipRouter router)
    {
        _host = host;
        _router = router;
    }

    /// <summary>Attaches <paramref name="router"/> to <paramref name="host"/>, including the connections it has now.</summary>
    public static GossipsubAttachment Attach(P2pHost host, GossipRouter router)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(router);
        var attachment = new GossipsubAttachment(host, router);
        foreach (string protocol in GossipRouter.Protocols)
            host.SetStreamHandler(protocol, router.HandleStreamAsync);
        host.ConnectionOpened += attachment.OnOpened;
        host.ConnectionClosed += attachment.OnClosed;
        foreach (var connection in host.Connections)
            router.AddConnection(connection);
        return attachment;
    }

    private void OnOpened(P2pConnection connection) => _router.AddConnection(connection);

    private void OnClosed(P2pConnection connection) => _router.RemoveConnection(connection);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _host.ConnectionOpened -= OnOpened;
        _host.ConnectionClosed -= OnClosed;
        foreach (string protocol in GossipRouter.Protocols)
            _host.RemoveStreamHandler(protocol);
    }
}
