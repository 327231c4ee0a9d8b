using System.Net.Security;

namespace QuDag.Network.Tests;

/// <summary>A peer whose endpoint either drops every connection at once or serves QuDAG, as the test says.</summary>
internal sealed class FlakyPeer : IAsyncDisposable
{
    private readonly List<SslStream> _held = [];
    private readonly RawPeer _raw;
    private int _accepts;

    public FlakyPeer()
    {
        _raw = new RawPeer(async (socket, ct) =>
        {
            Interlocked.Increment(ref _accepts);
            if (!Healthy)
            {
                socket.Dispose();
                return;
            }
            var ssl = await RawPeer.ServeQuDagAsync(socket, Identity, ct);
            lock (_held)
                _held.Add(ssl);
        });
    }

    public NodeIdentity Identity { get; } = NodeIdentity.Create();

    public volatile bool Healthy;

    public int Accepts => Volatile.Read(ref _accepts);

    public System.Net.IPEndPoint EndPoint => _raw.EndPoint;

    public async ValueTask DisposeAsync()
    {
        await _raw.DisposeAsync();
        lock (_held)
            _held.ForEach(s => s.Dispose());
        Identity.Dispose();
    }

    /// <summary>Closes every connection it served, from its side.</summary>
    public void DropAll()
    {
        lock (_held)
        {
            _held.ForEach(s => s.Dispose());
            _held.Clear();
        }
    }
}

