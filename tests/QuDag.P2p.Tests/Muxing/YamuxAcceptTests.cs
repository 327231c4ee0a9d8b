using QuDag.P2p.Muxing;
using QuDag.P2p.Muxing.Yamux;
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

    [Theory, MemberData(nameof(Transports))]
    public async Task AcceptStreams_hands_over_the_queued_streams_then_each_new_one_acknowledged_then_null_once_at_the_end(Transport transport)
    {
        await using var pair = await SessionPair.CreateAsync(transport, new YamuxOptions { MaxPendingOutboundStreams = 1 });
        MuxedStream early = await pair.Dialer.OpenStreamAsync(default);
        await early.WriteAsync(new byte[] { 1 });
        await Wait.UntilAsync(() => pair.Listener.StreamCount == 1, "the first stream queued at the listener");

        var handed = System.Threading.Channels.Channel.CreateUnbounded<MuxedStream?>();
        object state = new();
        object? seen = null;
        pair.Listener.AcceptStreams((s, stream) => { seen = s; handed.Writer.TryWrite(stream); }, state);
        MuxedStream? first = await handed.Reader.ReadAsync().AsTask().WaitAsync(Wait.Long);
        Assert.Same(state, seen);
        Assert.Equal(1, first!.ReadByte());

        // One unacknowledged stream is the dialer's limit here: opening a second proves the first was ACKed.
        MuxedStream later = await pair.Dialer.OpenStreamAsync(default).AsTask().WaitAsync(Wait.Long);
        await later.WriteAsync(new byte[] { 2 });
        MuxedStream? second = await handed.Reader.ReadAsync().AsTask().WaitAsync(Wait.Long);
        Assert.Equal(2, second!.ReadByte());
        Assert.Throws<InvalidOperationException>(() => pair.Listener.AcceptStreams((_, _) => { }, state));

        await pair.Dialer.DisposeAsync();
        Assert.Null(await handed.Reader.ReadAsync().AsTask().WaitAsync(Wait.Long));
        await pair.Listener.Completion.WaitAsync(Wait.Long).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        Assert.False(handed.Reader.TryRead(out _)); // null once, nothing after
    }
}
