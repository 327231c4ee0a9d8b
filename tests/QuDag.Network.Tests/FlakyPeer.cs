using QuDag.P2p.Upgrade;

namespace QuDag.Network.Tests;

/// <summary>
/// A peer whose endpoint either drops every connection at once (closes the accepted socket before a byte is said)
/// or serves libp2p, always as the same identity, as the test says.
/// </summary>
internal sealed class FlakyPeer : IAsyncDisposable
{
    private readonly Libp2pPeer _node;

    private FlakyPeer(Libp2pPeer node) => _node = node;

    public static async Task<FlakyPeer> StartAsync()
    {
        var gate = new HealthGate();
        var peer = new FlakyPeer(await Libp2pPeer.StartAsync(gater: gate));
        gate.Peer = peer;
        return peer;
    }

    public NodeIdentity Identity => _node.Identity;

    public volatile bool Healthy;

    /// <summary>TCP connections accepted so far, healthy or not.</summary>
    public int Accepts => (int)_node.Listener.AcceptedCount;

    public System.Net.IPEndPoint EndPoint => _node.EndPoint;

    /// <summary>
    /// Closes every connection it served, from its side. A dialer's connect can return a moment before this end has
    /// adopted the connection (its side of the upgrade ends last), so it first waits until it holds one.
    /// </summary>
    public async Task DropAllAsync()
    {
        await Wait.UntilAsync(() => _node.Host.Connections.Count > 0, "the flaky peer holds the connection it served");
        _node.DropAll();
    }

    public ValueTask DisposeAsync() => _node.DisposeAsync();

    /// <summary>Refuses each accepted socket (the host closes it at once) while the peer is not healthy.</summary>
    private sealed class HealthGate : IConnectionGater
    {
        public FlakyPeer? Peer;

        public bool InterceptAccept(System.Net.EndPoint local, System.Net.EndPoint remote) => Peer?.Healthy == true;
    }
}
