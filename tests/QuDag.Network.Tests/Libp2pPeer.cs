using System.Net;
using QuDag.P2p.Host;
using QuDag.P2p.Muxing;
using QuDag.P2p.Protocols.Ping;
using QuDag.P2p.Upgrade;

namespace QuDag.Network.Tests;

/// <summary>
/// A bare libp2p node (a <see cref="P2pHost"/>, no manager) listening on loopback, whose protocol handlers a test
/// can replace to make it misbehave above the upgrade: never echo pings, never read messages, send a hostile message.
/// </summary>
internal sealed class Libp2pPeer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private Libp2pPeer(P2pHost host, P2pListener listener)
    {
        Host = host;
        Listener = listener;
    }

    public P2pHost Host { get; }

    public P2pListener Listener { get; }

    public NodeIdentity Identity => Host.Identity;

    public PeerId Id => Host.LocalPeerId;

    public IPEndPoint EndPoint => Listener.LocalEndPoint;

    /// <summary>Starts a node as <paramref name="identity"/> (the caller keeps owning it), or as a fresh key it owns.</summary>
    public static async Task<Libp2pPeer> StartAsync(NodeIdentity? identity = null, IConnectionGater? gater = null)
    {
        var host = new P2pHost(new P2pHostOptions { Identity = identity, Gater = gater });
        var listener = await host.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        return new Libp2pPeer(host, listener);
    }

    /// <summary>Reads pings and never echoes them, like a node whose process stopped while its kernel still acks.</summary>
    public void NeverAnswerPings() => Host.SetStreamHandler(PingProtocol.Id, HoldAsync);

    /// <summary>Accepts message streams and never reads from them: yamux's window then stops the sender.</summary>
    public void NeverReadMessages() => Host.SetStreamHandler(PeerConnection.MessageProtocol, HoldAsync);

    /// <summary>Holds the stream open without reading until the peer is disposed.</summary>
    private async Task HoldAsync(MuxedStream stream, P2pConnection connection, CancellationToken ct)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stop.Token);
        await Task.Delay(Timeout.Infinite, linked.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Closes every connection from this side at once (no goodbye).</summary>
    public void DropAll()
    {
        foreach (var connection in Host.Connections)
            _ = connection.DisposeAsync().AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await Host.DisposeAsync();
        _stop.Dispose();
    }
}
