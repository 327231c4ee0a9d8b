using System.Net;
using System.Threading.Channels;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Gossipsub;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Tests.Protocols.Gossipsub;

/// <summary>One of our nodes with a gossipsub router attached, listening on loopback, collecting what it receives.</summary>
internal sealed class GossipTestNode : IAsyncDisposable
{
    private readonly Channel<GossipDelivery> _received = Channel.CreateUnbounded<GossipDelivery>();
    private readonly GossipsubAttachment _attachment;

    private GossipTestNode(P2pHost host, GossipRouter router, P2pListener listener)
    {
        Host = host;
        Router = router;
        Listener = listener;
        router.MessageDelivered += d => _received.Writer.TryWrite(d);
        _attachment = GossipsubAttachment.Attach(host, router);
    }

    public P2pHost Host { get; }

    public GossipRouter Router { get; }

    public P2pListener Listener { get; }

    public PeerId PeerId => Host.LocalPeerId;

    public Multiaddr Address => Listener.Addresses[0];

    /// <summary>Short heartbeats so meshes form within a test; the rest as given.</summary>
    public static GossipsubOptions TestOptions(GossipsubOptions? options = null) =>
        (options ?? new GossipsubOptions()) with { HeartbeatInterval = options?.HeartbeatInterval ?? TimeSpan.FromMilliseconds(100) };

    public static async Task<GossipTestNode> StartAsync(GossipsubOptions? options = null, CancellationToken ct = default)
    {
        var host = new P2pHost(new P2pHostOptions { Security = [SecurityProtocols.Noise] });
        var router = new GossipRouter(host.Identity, TestOptions(options));
        var listener = await host.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), ct);
        return new GossipTestNode(host, router, listener);
    }

    public Task<P2pConnection> DialAsync(GossipTestNode other, CancellationToken ct) => Host.DialAsync(other.Address, ct);

    /// <summary>The next message delivered, or a timeout.</summary>
    public async Task<GossipDelivery> ReceiveAsync(CancellationToken ct) => await _received.Reader.ReadAsync(ct);

    /// <summary>What has been delivered so far (taken).</summary>
    public List<GossipDelivery> Drain()
    {
        var list = new List<GossipDelivery>();
        while (_received.Reader.TryRead(out var d))
            list.Add(d);
        return list;
    }

    /// <summary>Polls <paramref name="condition"/> on the router's figures until it holds; the event is the figures changing, which has no callback.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, CancellationToken ct)
    {
        while (!condition())
        {
            if (ct.IsCancellationRequested)
                throw new TimeoutException($"Timed out waiting until {what}.");
            await Task.Delay(20, CancellationToken.None);
        }
    }

    public int MeshSize(string topic) => Router.GetTopic(topic)?.MeshPeers.Count ?? 0;

    public bool InMesh(string topic, PeerId peer) => Router.GetTopic(topic)?.MeshPeers.Contains(peer) == true;

    public bool KnowsSubscriber(string topic, PeerId peer) => Router.GetTopic(topic)?.Subscribers.Contains(peer) == true;

    public async ValueTask DisposeAsync()
    {
        _attachment.Dispose();
        await Router.DisposeAsync();
        await Host.DisposeAsync();
    }
}
