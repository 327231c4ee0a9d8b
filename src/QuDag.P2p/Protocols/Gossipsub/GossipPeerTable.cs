using System.Net;
using QuDag.P2p.Identity;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// The peers the router knows, each with its live connections and streams: a peer joins with its first connection
/// and leaves with its last (or when its stream is abandoned), and its outbound stream then closes. The writers being
/// closed are kept so disposal can wait for them. Owned by the router, called under its lock.
/// </summary>
internal sealed class GossipPeerTable
{
    private readonly Dictionary<PeerId, GossipPeer> _peers = [];
    private readonly List<Task> _closing = [];
    private int _pruneAt = 16; // the finished closes are dropped when the list reaches this: amortised, not per removal

    /// <summary>The peers by id, as the router's parts read them.</summary>
    public IReadOnlyDictionary<PeerId, GossipPeer> All => _peers;

    public int Count => _peers.Count;

    public IEnumerable<GossipPeer> Values => _peers.Values;

    public bool TryGet(PeerId id, out GossipPeer peer) => _peers.TryGetValue(id, out peer!);

    /// <summary>True while <paramref name="peer"/> is still the table's entry for its id (not gone, not replaced).</summary>
    public bool IsCurrent(GossipPeer peer) => _peers.TryGetValue(peer.Id, out var current) && ReferenceEquals(current, peer);

    /// <summary>Adds the connection to its peer, making the peer (and its writer) on its first; true when the peer is new.</summary>
    public bool Add(P2pConnection connection, Func<PeerId, GossipStreamWriter> writer, out GossipPeer peer)
    {
        bool added = false;
        if (!_peers.TryGetValue(connection.RemotePeer, out peer!))
        {
            peer = new GossipPeer(connection.RemotePeer, connection.Direction == Direction.Outbound, (connection.RemoteEndPoint as IPEndPoint)?.Address);
            _peers[peer.Id] = peer;
            added = true;
        }
        if (!peer.Connections.Contains(connection))
            peer.Connections.Add(connection);
        // Made after the peer is in the table: the writer's first question is which connection to use.
        peer.Writer ??= writer(peer.Id);
        return added;
    }

    /// <summary>Removes a connection; returns its peer when that was the peer's last (the caller then removes the peer).</summary>
    public GossipPeer? RemoveConnection(P2pConnection connection) =>
        _peers.TryGetValue(connection.RemotePeer, out var peer) && peer.Connections.Remove(connection) && peer.Connections.Count == 0 ? peer : null;

    /// <summary>Forgets the peer: its inbound stream is reset and its outbound stream closed (a clean end the remote reads).</summary>
    public void Remove(GossipPeer peer)
    {
        _peers.Remove(peer.Id);
        peer.Inbound?.Reset();
        if (peer.Writer is { } writer)
        {
            // Pruned in amortised steps: a mass close (a pool expiring thousands of connections) removes peers faster than
            // their writers finish, and a scan per removal made that quadratic.
            if (_closing.Count >= _pruneAt)
            {
                _closing.RemoveAll(t => t.IsCompleted);
                _pruneAt = Math.Max(16, 2 * _closing.Count);
            }
            _closing.Add(writer.DisposeAsync().AsTask());
        }
    }

    /// <summary>The outbound streams still closing.</summary>
    public Task[] Closing => [.. _closing];
}
