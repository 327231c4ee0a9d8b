using QuDag.P2p.Muxing;

namespace QuDag.P2p.Tests.Muxing;

/// <summary>How delivered data reaches a waiting reader: on the reader loop's thread once the loop has parked on its
/// next read, never in a way that lets the reader hold up the session.</summary>
public sealed class YamuxReaderWakeTests
{
    public static TheoryData<Transport> Transports => new() { Transport.Duplex, Transport.Tcp, Transport.NoiseTcp };

    [Theory, MemberData(nameof(Transports))]
    public async Task A_reader_that_blocks_the_thread_that_woke_it_does_not_stall_the_session(Transport transport)
    {
        // Readers are resumed on the reader loop's thread once it has parked on its next read: a reader that then
        // blocks that thread (sync over async, a long computation) must leave the session reading on another.
        await using var pair = await SessionPair.CreateAsync(transport);
        MuxedStream blockerOut = await pair.Dialer.OpenStreamAsync(default);
        await blockerOut.WriteAsync(new byte[] { 1 });
        MuxedStream blockerIn = await pair.Listener.AcceptStreamAsync(default);
        Assert.Equal(1, await blockerIn.ReadAsync(new byte[1]));
        MuxedStream otherOut = await pair.Dialer.OpenStreamAsync(default);
        await otherOut.WriteAsync(new byte[] { 2 });
        MuxedStream otherIn = await pair.Listener.AcceptStreamAsync(default);
        Assert.Equal(1, await otherIn.ReadAsync(new byte[1]));

        using var release = new ManualResetEventSlim();
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task blocking = BlockAfterReadAsync();
        async Task BlockAfterReadAsync()
        {
            await blockerIn.ReadAsync(new byte[1]).ConfigureAwait(false);
            blocked.SetResult();
            release.Wait(Wait.Long); // holds whatever thread resumed this read
        }

        await blockerOut.WriteAsync(new byte[] { 3 });
        await blocked.Task.WaitAsync(Wait.Long);
        for (int i = 0; i < 20; i++)
        {
            // Pings and data both ways still flow while the reader above holds its thread.
            await otherOut.WriteAsync(new byte[] { (byte)i });
            byte[] one = new byte[1];
            await otherIn.ReadExactlyAsync(one).AsTask().WaitAsync(Wait.Long);
            Assert.Equal((byte)i, one[0]);
            await otherIn.WriteAsync(one);
            await otherOut.ReadExactlyAsync(one).AsTask().WaitAsync(Wait.Long);
            Assert.True(await pair.Listener.PingAsync(default).AsTask().WaitAsync(Wait.Long) > TimeSpan.Zero);
        }
        Assert.False(blocking.IsCompleted);
        release.Set();
        await blocking.WaitAsync(Wait.Long);
    }
}
