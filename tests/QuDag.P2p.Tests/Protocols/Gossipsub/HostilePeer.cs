using System.Collections.Concurrent;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Protocols.Gossipsub;

namespace QuDag.P2p.Tests.Protocols.Gossipsub;

/// <summary>A bare libp2p host speaking pubsub by hand, on one protocol (/meshsub/1.1.0 unless told otherwise).</summary>
internal sealed class HostilePeer : IAsyncDisposable
{
    public readonly P2pHost Host = new(new P2pHostOptions { Security = [SecurityProtocols.Noise] });
    public readonly ConcurrentQueue<PubsubRpc> Received = new();
    private readonly string _protocol;
    private MuxedStream? _stream;

    public HostilePeer(string protocol = GossipsubProtocol.MeshsubV11)
    {
        _protocol = protocol;
        // What our router writes to us: every RPC, parsed.
        Host.SetStreamHandler(protocol, async (stream, _, ct) =>
        {
            while (await GossipsubProtocol.ReadRpcAsync(stream, 4 * 1024 * 1024, RpcLimits.Default, ct) is { } rpc)
                Received.Enqueue(rpc);
        });
    }

    public PeerId PeerId => Host.LocalPeerId;

    public async Task ConnectAsync(GossipTestNode target, CancellationToken ct)
    {
        var connection = await Host.DialAsync(target.Address, ct);
        _stream = await connection.OpenStreamAsync(_protocol, ct);
    }

    public async Task SendAsync(PubsubRpc rpc, CancellationToken ct) => await _stream!.WriteAsync(GossipsubProtocol.Frame(rpc), ct);

    public async Task SendRawAsync(byte[] bytes, CancellationToken ct) => await _stream!.WriteAsync(bytes, ct);

    /// <summary>Waits until our router has sent an RPC that <paramref name="match"/> accepts.</summary>
    public Task WaitForAsync(Func<PubsubRpc, bool> match, string what, CancellationToken ct) =>
        GossipTestNode.WaitUntilAsync(() => Received.Any(match), what, ct);

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
