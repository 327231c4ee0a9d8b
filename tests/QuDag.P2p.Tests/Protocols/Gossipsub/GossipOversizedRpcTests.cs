namespace QuDag.P2p.Tests.Protocols.Gossipsub;

/// <summary>
/// An RPC whose length prefix is far over the cap is refused without a buffer for it. The proof reads the process's
/// allocated bytes, which every test running beside it adds to (repeat-under-load saw it fail so), so the class runs alone.
/// </summary>
[Collection(nameof(GossipOversizedRpcTests))]
[CollectionDefinition(nameof(GossipOversizedRpcTests), DisableParallelization = true)]
public sealed class GossipOversizedRpcTests
{
    private const string Topic = "qudag/hostile";

    [Fact]
    public async Task An_oversized_rpc_resets_the_stream_and_counts_without_reading_its_body()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var ct = cts.Token;
        await using var ours = await GossipTestNode.StartAsync(ct: ct);
        await using var hostile = new HostilePeer();
        ours.Router.Subscribe(Topic);
        await hostile.ConnectAsync(ours, ct);
        // A length prefix of 64 MiB against the 1 MiB cap, and nothing behind it.
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await hostile.SendRawAsync([0x80, 0x80, 0x80, 0x20], ct);
        await GossipTestNode.WaitUntilAsync(() => ours.Router.GetStatistics().InvalidRpcs == 1, "the oversized RPC was refused", ct);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 16 * 1024 * 1024, "no buffer for the declared length was made");
    }
}
