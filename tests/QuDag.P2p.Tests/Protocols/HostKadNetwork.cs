using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Kad;

namespace QuDag.P2p.Tests.Protocols;

/// <summary>
/// The DHT's glue for tests of the stack alone: streams over a bare <see cref="P2pHost"/>'s connections, dialing the
/// first address when there is none (the manager's PeerDiscovery does the same through its dialer and pool).
/// </summary>
internal sealed class HostKadNetwork(P2pHost host) : IKadNetwork
{
    public IReadOnlyList<Multiaddr> ListenAddresses => host.Listeners.SelectMany(l => l.Addresses).Select(a => a.WithoutPeerId()).ToArray();

    public async Task<T> ExchangeAsync<T>(PeerId peer, IReadOnlyList<Multiaddr> addresses, string protocol, KadExchange<T> exchange, CancellationToken cancellationToken)
    {
        var connection = host.Connections.FirstOrDefault(c => c.RemotePeer == peer && c.IsOpen)
            ?? await host.DialAsync(addresses.FirstOrDefault()?.WithPeerId(peer) ?? throw new InvalidOperationException($"No address for {peer}."), cancellationToken);
        await using var stream = await connection.OpenStreamAsync(protocol, cancellationToken);
        return await exchange(stream, connection, cancellationToken);
    }
}
