using System.Net;
using QuDag.P2p.Host;

namespace QuDag.Network;

/// <summary>
/// Accepts inbound libp2p connections for a <see cref="ConnectionManager"/>, which tracks them like its own.
/// Disposing stops accepting; established connections stay with the manager.
/// </summary>
public sealed class PeerListener : IAsyncDisposable
{
    private readonly P2pListener _inner;
    private readonly Action<PeerListener> _onDisposed;
    private int _disposed;

    internal PeerListener(P2pListener inner, Action<PeerListener> onDisposed)
    {
        _inner = inner;
        _onDisposed = onDisposed;
    }

    /// <summary>The bound endpoint (with the port chosen when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => _inner.LocalEndPoint;

    /// <summary>The multiaddrs a remote dials to reach this node through this listener, each ending in /p2p/&lt;id&gt;.</summary>
    public IReadOnlyList<Multiaddr> Addresses => _inner.Addresses;

    /// <summary>TCP connections accepted so far: proof of whether a connect dialed or reused.</summary>
    public long AcceptedCount => _inner.AcceptedCount;

    /// <summary>True until disposed.</summary>
    public bool IsListening => Volatile.Read(ref _disposed) == 0;

    /// <summary>Stops accepting and closes the listening socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _inner.DisposeAsync().ConfigureAwait(false);
        _onDisposed(this);
    }

    /// <inheritdoc/>
    public override string ToString() => _inner.ToString();
}
