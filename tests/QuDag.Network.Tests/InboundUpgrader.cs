using System.Net.Sockets;
using QuDag.P2p.Muxing;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Security;
using QuDag.P2p.Security.Noise;
using QuDag.P2p.Security.Tls;
using QuDag.P2p.Upgrade;

namespace QuDag.Network.Tests;

/// <summary>
/// The listener's side of the libp2p upgrade (multistream-select, Noise or TLS, yamux) for a <see cref="RawPeer"/>
/// socket, without a host: nothing serves the streams of the connections it returns, so a stream the dialer opens
/// (a message stream, a ping, identify) is never answered.
/// </summary>
internal sealed class InboundUpgrader : IDisposable
{
    private readonly NoiseSecurity _noise;
    private readonly TlsSecurity _tls;
    private readonly Upgrader _upgrader;

    public InboundUpgrader(NodeIdentity identity)
    {
        _noise = new NoiseSecurity(identity);
        _tls = new TlsSecurity(identity);
        _upgrader = new Upgrader(new ISecurityTransport[] { _noise, _tls }, new IStreamMuxer[] { new YamuxMuxer() });
    }

    /// <summary>Upgrades an accepted socket; the connection owns it from then on.</summary>
    public Task<P2pConnection> UpgradeAsync(Socket socket, CancellationToken ct) =>
        _upgrader.UpgradeInboundAsync(new NetworkStream(socket, ownsSocket: true), socket.LocalEndPoint!, socket.RemoteEndPoint!,
            TimeProvider.System.GetTimestamp(), ct);

    public void Dispose()
    {
        _noise.Dispose();
        _tls.Dispose();
    }
}
