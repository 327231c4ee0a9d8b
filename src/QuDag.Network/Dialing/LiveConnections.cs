using System.Collections.Concurrent;
using QuDag.P2p.Upgrade;

namespace QuDag.Network;

/// <summary>
/// The connections the dialing parts track: each host connection's <see cref="PeerConnection"/> (from the host's
/// ConnectionOpened until its close), and the open ones the keepalive, the trimmer and disposal walk.
/// </summary>
internal sealed class LiveConnections
{
    private readonly ConcurrentDictionary<P2pConnection, PeerConnection> _wrappers = new();
    private readonly ConcurrentDictionary<PeerConnection, byte> _open = new();

    /// <summary>The open connections (a live view).</summary>
    public ICollection<PeerConnection> Open => _open.Keys;

    /// <summary>The host opened <paramref name="connection"/>'s connection; it is found by it from now.</summary>
    public void Wrapped(PeerConnection connection) => _wrappers[connection.Connection] = connection;

    /// <summary>The connection's handshake finished (its OnOpened); returns how many are open now.</summary>
    public int Opened(PeerConnection connection)
    {
        _open.TryAdd(connection, 0);
        return _open.Count;
    }

    /// <summary>The connection closed: it is no longer found, nor walked.</summary>
    public void Closed(PeerConnection connection)
    {
        _open.TryRemove(connection, out _);
        _wrappers.TryRemove(connection.Connection, out _);
    }

    /// <summary>The manager's view of a host connection; null when it closed (or was never ours).</summary>
    public PeerConnection? Find(P2pConnection connection) => _wrappers.TryGetValue(connection, out var wrapper) ? wrapper : null;
}
