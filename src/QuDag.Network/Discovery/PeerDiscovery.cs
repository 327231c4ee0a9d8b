using System.Net;
using QuDag.P2p.Host;
using QuDag.P2p.Protocols.Identify;
using QuDag.P2p.Protocols.Kad;

namespace QuDag.Network;

/// <summary>
/// The manager's use of the DHT: it owns the <see cref="KadDht"/>, gives it streams through the dialer (its requests
/// ride the peer's connection, or one dialed for them that then waits in the idle pool), serves the kad protocol in
/// server mode (registering the handler is what makes identify announce it), and feeds the routing table the peers
/// identify says serve kad, in client and server mode alike.
/// </summary>
internal sealed class PeerDiscovery : IKadNetwork, IAsyncDisposable
{
    private readonly Dialer _dialer;
    private readonly P2pHost _host;
    private readonly CancellationTokenSource _stopping = new();

    public PeerDiscovery(ConnectionManagerOptions options, PeerId localPeer, Dialer dialer, P2pHost host)
    {
        _dialer = dialer;
        _host = host;
        Mode = options.DhtMode;
        var kad = options.Dht with { ProtocolId = options.DhtProtocolId, BootstrapPeers = options.DhtBootstrap };
        Dht = new KadDht(localPeer, this, kad, options.TimeProvider);
        if (Mode == KadMode.Server)
            host.SetStreamHandler(kad.ProtocolId, Dht.ServeAsync);
        dialer.Identified += OnIdentified;
        Dht.Start();
        if (kad.BootstrapPeers.Count > 0)
            _ = BootstrapInBackgroundAsync();
    }

    public KadMode Mode { get; }

    public KadDht Dht { get; }

    /// <summary>Completes when the bootstrap started with the manager has ended (for tests).</summary>
    public Task Bootstrapped { get; private set; } = Task.CompletedTask;

    public IReadOnlyList<Multiaddr> ListenAddresses => _host.Listeners.SelectMany(l => l.Addresses).Select(a => a.WithoutPeerId()).ToArray();

    public Task<T> ExchangeAsync<T>(PeerId peer, IReadOnlyList<Multiaddr> addresses, string protocol, KadExchange<T> exchange, CancellationToken cancellationToken)
    {
        var targets = new List<EndPoint>(addresses.Count);
        foreach (var address in addresses)
        {
            if (address.TryGetEndPoint(out var endPoint))
                targets.Add(endPoint);
        }
        return _dialer.ExchangeAsync(peer, targets, protocol, (stream, connection, ct) => exchange(stream, connection, ct), cancellationToken);
    }

    /// <summary>
    /// A peer's addresses by the DHT (empty when nobody knows it). A lookup right after start waits for the bootstrap
    /// the manager began, and one with an empty table joins through the bootstrap peers first: it has nobody to ask.
    /// </summary>
    public async Task<IReadOnlyList<Multiaddr>> FindPeerAsync(PeerId peer, CancellationToken cancellationToken)
    {
        await AfterBootstrapAsync(cancellationToken).ConfigureAwait(false);
        if (Dht.RoutingTable.Count == 0 && Dht.Options.BootstrapPeers.Count > 0)
            await Dht.BootstrapAsync(Dht.Options.BootstrapPeers, cancellationToken).ConfigureAwait(false);
        return (await Dht.FindPeerAsync(peer, cancellationToken).ConfigureAwait(false))?.Addresses ?? [];
    }

    /// <summary>Joins the DHT through <paramref name="peers"/> once the bootstrap the manager began has ended: two
    /// bootstraps never run side by side, and none is still going when this returns. Returns the table's size.</summary>
    public async Task<int> BootstrapAsync(IEnumerable<Multiaddr> peers, CancellationToken cancellationToken)
    {
        await AfterBootstrapAsync(cancellationToken).ConfigureAwait(false);
        return await Dht.BootstrapAsync(peers, cancellationToken).ConfigureAwait(false);
    }

    // The bootstrap the manager began at start, if any, has ended (however it ended).
    private async Task AfterBootstrapAsync(CancellationToken cancellationToken)
    {
        await Bootstrapped.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private void OnIdentified(PeerId peer, IdentifyMessage identify, IPAddress? seenAt)
    {
        if (!identify.Protocols.Contains(Dht.Options.ProtocolId, StringComparer.Ordinal))
        {
            Dht.RemovePeer(peer); // a client, or a server that stopped serving
            return;
        }
        var listen = new List<Multiaddr>();
        foreach (var bytes in identify.ListenAddrs)
        {
            if (Multiaddr.TryFromBytes(bytes, out var address) && address.TryGetEndPoint(out _))
                listen.Add(address);
        }
        Dht.AddPeer(peer, listen, seenAt);
    }

    private Task BootstrapInBackgroundAsync()
    {
        Bootstrapped = Task.Run(async () =>
        {
            try
            {
                await Dht.BootstrapAsync(Dht.Options.BootstrapPeers, _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The refresh timer bootstraps again while the table is empty.
            }
        });
        return Bootstrapped;
    }

    public async ValueTask DisposeAsync()
    {
        _dialer.Identified -= OnIdentified;
        _stopping.Cancel();
        await Dht.DisposeAsync().ConfigureAwait(false);
        await Bootstrapped.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }
}
