using QuDag.P2p.Protocols.Kad;

namespace QuDag.Network;

public sealed partial class ConnectionManager
{
    /// <summary>The DHT this manager runs (its routing table, stores and lookups), or null when <see cref="ConnectionManagerOptions.DhtMode"/> is Off.</summary>
    public KadDht? Dht => _discovery?.Dht;

    /// <summary>The DHT mode this manager runs in.</summary>
    public KadMode DhtMode => _discovery?.Mode ?? KadMode.Off;

    /// <summary>
    /// Looks a peer up in the DHT and returns its addresses (without <c>/p2p</c>; empty when nobody knows it). The first
    /// dialable one goes into the address book, so a later <see cref="ConnectAsync(PeerId, CancellationToken)"/> uses it.
    /// </summary>
    /// <exception cref="DhtDisabledException">The DHT is off.</exception>
    public async Task<IReadOnlyList<Multiaddr>> FindPeerAsync(PeerId peerId, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (peerId == LocalPeerId)
            throw new ArgumentException("A node does not look itself up.", nameof(peerId));
        var discovery = _discovery ?? throw new DhtDisabledException();
        var addresses = await discovery.FindPeerAsync(peerId, cancellationToken).ConfigureAwait(false);
        foreach (var address in addresses)
        {
            if (address.TryGetEndPoint(out var endPoint))
            {
                AddPeer(peerId, endPoint);
                break;
            }
        }
        return addresses;
    }

    /// <summary>
    /// Joins the DHT through <see cref="ConnectionManagerOptions.DhtBootstrap"/> (or <paramref name="peers"/>): a lookup of
    /// our own id from them, then a refresh of every bucket. Returns the routing table's size. The manager also does
    /// this by itself at start when bootstrap peers are set; a call made meanwhile waits for that one to end first, so
    /// two bootstraps never run side by side and, when this returns, no bootstrap lookup is still going.
    /// </summary>
    /// <exception cref="DhtDisabledException">The DHT is off.</exception>
    public Task<int> BootstrapDhtAsync(IEnumerable<Multiaddr>? peers = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var discovery = _discovery ?? throw new DhtDisabledException();
        return discovery.BootstrapAsync(peers ?? discovery.Dht.Options.BootstrapPeers, cancellationToken);
    }

    /// <summary>Completes when the bootstrap the manager started by itself has ended; for tests.</summary>
    internal Task DhtBootstrapped => _discovery?.Bootstrapped ?? Task.CompletedTask;

    private async Task ConnectOrFindAsync(PeerId peerId, TimeSpan? connectTimeout, CancellationToken cancellationToken)
    {
        try
        {
            await _dialer.ConnectAsync(peerId, null, named: true, connectTimeout, cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (PeerAddressUnknownException)
        {
            // Not in the address book: the DHT may know it.
        }
        var found = await FindPeerAsync(peerId, cancellationToken).ConfigureAwait(false);
        if (!found.Any(a => a.TryGetEndPoint(out _)))
            throw new PeerAddressUnknownException(peerId, $", and the DHT found {(found.Count == 0 ? "no address" : "no TCP address")} for it");
        await _dialer.ConnectAsync(peerId, null, named: true, connectTimeout, cancellationToken).ConfigureAwait(false);
    }
}
