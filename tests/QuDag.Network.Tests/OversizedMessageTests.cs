using QuDag.P2p.Encoding;
using QuDag.P2p.Upgrade;

namespace QuDag.Network.Tests;

/// <summary>
/// A declared message far over the maximum is refused on its length prefix. Its proof reads the process's allocated
/// bytes, which every test running beside it adds to (repeat-under-load saw it fail so), so the class runs alone.
/// </summary>
[Collection(nameof(OversizedMessageTests))]
[CollectionDefinition(nameof(OversizedMessageTests), DisableParallelization = true)]
public sealed class OversizedMessageTests
{
    [Fact]
    public async Task A_message_over_the_maximum_closes_the_connection_as_failed_and_buffers_nothing_for_it()
    {
        await using var hostile = await Libp2pPeer.StartAsync();
        hostile.Host.ConnectionOpened += connection => _ = DeclareOversizedMessageAsync(connection);
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { MaxFrameSize = 1024 * 1024 });
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);

        var failed = await Wait.ForStatusAsync(manager, hostile.Id, ConnectionStatus.Failed,
            () => manager.ConnectAsync(hostile.Id, hostile.EndPoint));

        Assert.Contains("exceeds the maximum", failed.Reason);
        Assert.Equal(CloseReason.ProtocolError, failed.CloseReason);
        Assert.Contains((64 * 1024 * 1024).ToString(), failed.Reason);
        await Wait.UntilAsync(() => manager.OpenConnections == 0, "socket released");
        Assert.Equal(0, (await manager.GetMetricsAsync()).Connections);
        Assert.Equal(0, manager.GetMetrics().MessagesReceived);
        // The length is refused before a byte of the payload is buffered: nothing near 64 MiB was allocated.
        Assert.InRange(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore, 0, 16 * 1024 * 1024);
    }

    /// <summary>Opens a message stream and declares a 64 MiB message in its uvarint prefix, then sends nothing more.</summary>
    private static async Task DeclareOversizedMessageAsync(P2pConnection connection)
    {
        try
        {
            await using var stream = await connection.OpenStreamAsync(PeerConnection.MessageProtocol, CancellationToken.None);
            var prefix = new byte[Varint.MaxLength];
            int length = Varint.Write(prefix, 64UL * 1024 * 1024);
            await stream.WriteAsync(prefix.AsMemory(0, length));
            await connection.Completion;
        }
        catch (Exception)
        {
            // The manager drops the connection: that is the point.
        }
    }
}
