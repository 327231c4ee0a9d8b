using System.Net;
using QuDag.Network;

namespace QuDag.Telemetry.Tests;

/// <summary>Two real managers on loopback, Node connected to Remote, both pinging each other.</summary>
internal sealed class NodePair : IAsyncDisposable
{
    private NodePair(ConnectionManager node, ConnectionManager remote)
    {
        Node = node;
        Remote = remote;
    }

    /// <summary>The node whose metrics are exported.</summary>
    public ConnectionManager Node { get; }

    public ConnectionManager Remote { get; }

    /// <summary>Round trips Node measured, in order.</summary>
    public List<TimeSpan> NodeRoundTrips { get; } = [];

    public static async Task<NodePair> ConnectAsync()
    {
        // Keepalive off: every ping the metrics count is one the test made.
        static ConnectionManager Make() => new(new ConnectionManagerOptions { MaxConnections = 10, KeepAliveInterval = TimeSpan.Zero });
        var node = Make();
        var remote = Make();
        var listener = await remote.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        await node.ConnectAsync(remote.LocalPeerId, listener.LocalEndPoint);
        await node.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        // The remote adopts the inbound connection after its handshake: wait for it before pinging back.
        await External.UntilAsync(() => Task.FromResult(remote.GetPeer(node.LocalPeerId)?.Status == ConnectionStatus.Connected ? "" : null),
            "the remote to see the node connected", TimeSpan.FromSeconds(10));
        return new NodePair(node, remote);
    }

    /// <summary>Node pings Remote <paramref name="count"/> times and Remote pings Node as often (on the same connection).</summary>
    public async Task PingBothWaysAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            NodeRoundTrips.Add(await Node.PingAsync(Remote.LocalPeerId));
            await Remote.PingAsync(Node.LocalPeerId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync();
        await Remote.DisposeAsync();
    }
}
