using System.Net;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Kad;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Tests.Protocols;

/// <summary>
/// A peer we reach on a public address cannot point our lookups at loopback or private addresses (a public DHT node
/// telling us "peer X is at 127.0.0.1:22" or "10.0.0.1" would make us probe our own host or LAN). Every real socket
/// here is loopback, so the one thing not real is where the informer seems to be: <see cref="SeenAtPublicAddress"/>
/// hands the lookup the real loopback connection under a public remote address. That is the one place a double is right;
/// the streams, the hostile answers and the peer that must not be asked are all real.
/// </summary>
public sealed class KadAddressScopeTests
{
    /// <summary>The host's real streams, with every connection reported as coming from 198.51.100.7 (TEST-NET-2).</summary>
    private sealed class SeenAtPublicAddress(P2pHost host) : IKadNetwork
    {
        private static readonly IPEndPoint Public = new(IPAddress.Parse("198.51.100.7"), 4001);
        private readonly HostKadNetwork _inner = new(host);

        public IReadOnlyList<Multiaddr> ListenAddresses => _inner.ListenAddresses;

        public Task<T> ExchangeAsync<T>(PeerId peer, IReadOnlyList<Multiaddr> addresses, string protocol, KadExchange<T> exchange, CancellationToken cancellationToken) =>
            _inner.ExchangeAsync(peer, addresses, protocol, (stream, c, ct) => exchange(stream,
                new P2pConnection(c.Session, c.RemotePeer, c.RemoteKey, c.Direction, c.Security, c.Muxer, c.LocalEndPoint, Public, c.HandshakeTime), ct), cancellationToken);
    }

    private static readonly Multiaddr PublicAddress = Multiaddr.Parse("/ip4/203.0.113.9/tcp/4001");

    /// <summary>
    /// A real loopback server that every lookup should want to ask (the informer names it first), a made-up peer with
    /// loopback, private and public addresses, and the informer that names both in every answer.
    /// </summary>
    private static async Task<(P2pHost Informer, Multiaddr InformerAddress, P2pHost Bait, KadDht BaitDht, PeerId MadeUp)> WorldAsync()
    {
        var (bait, baitDht, baitAddress) = await KadDhtTests.ServerAsync();
        var madeUp = KadDhtTests.RandomPeer();
        var informer = new P2pHost();
        var listener = await informer.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        informer.SetStreamHandler(KadProtocol.DefaultId, async (stream, _, ct) =>
        {
            var request = await KadProtocol.ReadAsync(stream, 4096, ct);
            await KadProtocol.WriteAsync(stream, new KadMessage
            {
                Type = request!.Type,
                Key = request.Key,
                CloserPeers =
                [
                    new KadPeer(bait.LocalPeerId, [baitAddress.WithoutPeerId()]),
                    new KadPeer(madeUp, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/9"), Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001"), Multiaddr.Parse("/ip4/192.168.1.1/tcp/4001"), PublicAddress]),
                ],
                ProviderPeers = request.Type == KadMessageType.GetProviders ? [new KadPeer(madeUp, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/9"), PublicAddress])] : [],
            }, ct);
        });
        return (informer, listener.Addresses[0], bait, baitDht, madeUp);
    }

    /// <summary>
    /// Builds the world, joins the DHT through the informer (the operator's bootstrap address stands, loopback or not)
    /// with our node's streams going through <paramref name="network"/>, then runs <paramref name="check"/>.
    /// </summary>
    private static async Task JoinThroughInformerAsync(Func<P2pHost, IKadNetwork> network, Func<KadDht, P2pHost, KadDht, PeerId, Task> check)
    {
        var (informer, informerAddress, bait, baitDht, madeUp) = await WorldAsync();
        await using (informer) await using (bait) await using (baitDht)
        {
            await using var host = new P2pHost();
            await using var dht = new KadDht(host.LocalPeerId, network(host), new KadOptions { RefreshInterval = TimeSpan.Zero, RequestTimeout = TimeSpan.FromSeconds(5) });
            await dht.BootstrapAsync([informerAddress]);
            await check(dht, informer, baitDht, madeUp);
        }
    }

    [Fact]
    public Task A_peer_seen_at_a_public_address_cannot_point_a_lookup_at_loopback_or_private_addresses() =>
        JoinThroughInformerAsync(host => new SeenAtPublicAddress(host), async (dht, informer, baitDht, madeUp) =>
        {
            // The lookup asked the informer and never the loopback server it named.
            Assert.NotNull(dht.RoutingTable.Find(informer.LocalPeerId));
            Assert.Equal(0, baitDht.Counters.Served);

            // A peer found through it is found at its public address only; a provider likewise.
            var found = await dht.FindPeerAsync(madeUp);
            Assert.Equal([PublicAddress], found!.Addresses);
            var provider = Assert.Single(await dht.GetProvidersAsync("/any"u8.ToArray(), 1));
            Assert.Equal([PublicAddress], provider.Addresses);
        });

    [Fact]
    public Task The_same_informer_on_loopback_is_believed_so_the_rule_is_what_keeps_the_public_one_out() =>
        JoinThroughInformerAsync(host => new HostKadNetwork(host), async (dht, _, baitDht, madeUp) =>
        {
            Assert.True(baitDht.Counters.Served > 0);
            var found = await dht.FindPeerAsync(madeUp);
            Assert.Equal(4, found!.Addresses.Count);
        });
}
