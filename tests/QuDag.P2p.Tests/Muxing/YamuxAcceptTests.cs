using QuDag.P2p.Muxing;
using QuDag.P2p.Tests.Support;

namespace QuDag.P2p.Tests.Muxing;

/// <summary>How an accept loop learns that its session ended: TryAcceptStreamAsync's null, AcceptStreamAsync's exception.</summary>
public sealed class YamuxAcceptTests
{
    public static TheoryData<Transport> Transports => new() { Transport.Duplex, Transport.Tcp, Transport.NoiseTcp };

    [Theory, MemberData(nameof(Transports))]
    public async Task A_waiting_TryAccept_returns_the_stream_and_then_null_when_the_remote_ends_the_session(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport);
        ValueTask<MuxedStream?> waiting = pair.Listener.TryAcceptStreamAsync(default);
        MuxedStream opened = await pair.Dialer.OpenStreamAsync(default);
        await opened.WriteAsync(new byte[] { 7 });

        MuxedStream? accepted = await waiting.AsTask().WaitAsync(Wait.Long);
        Assert.NotNull(accepted);
        Assert.Equal(7, accepted.ReadByte());

        Task<MuxedStream?> next = pair.Listener.TryAcceptStreamAsync(default).AsTask();
        Assert.False(next.IsCompleted);
        await pair.Dialer.DisposeAsync();

        Assert.Null(await next.WaitAsync(Wait.Long));
        Assert.Null(await pair.Listener.TryAcceptStreamAsync(default).AsTask().WaitAsync(Wait.Long));
        await Assert.ThrowsAsync<MuxerClosedException>(() => pair.Listener.AcceptStreamAsync(default).AsTask().WaitAsync(Wait.Long));
    }
}
