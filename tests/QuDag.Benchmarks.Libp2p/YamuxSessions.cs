using QuDag.P2p.Muxing;
using QuDag.P2p.Muxing.Yamux;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>A yamux session pair over loopback TCP (no security: the muxer's own cost), with default options.</summary>
public sealed class YamuxSessions : IAsyncDisposable
{
    private readonly LoopbackPair _sockets;

    private YamuxSessions(LoopbackPair sockets, IMuxedSession client, IMuxedSession server)
    {
        _sockets = sockets;
        Client = client;
        Server = server;
    }

    public IMuxedSession Client { get; }
    public IMuxedSession Server { get; }

    public static async Task<YamuxSessions> CreateAsync(YamuxOptions? options = null)
    {
        var sockets = await LoopbackPair.CreateAsync().ConfigureAwait(false);
        var muxer = new YamuxMuxer(options);
        return new YamuxSessions(sockets,
            muxer.CreateSession(new System.Net.Sockets.NetworkStream(sockets.Client, ownsSocket: true), isInitiator: true),
            muxer.CreateSession(new System.Net.Sockets.NetworkStream(sockets.Server, ownsSocket: true), isInitiator: false));
    }

    /// <summary>
    /// The 1,000-streams workload: the client opens <paramref name="streams"/> streams at once, each writes
    /// <paramref name="bytesPerStream"/> pattern bytes and closes its side; the server reads each to its end, checks the
    /// bytes and closes. Completes when every stream is done on both sides.
    /// </summary>
    public async Task ManyStreamsAsync(int streams, int bytesPerStream, CancellationToken ct)
    {
        long received = 0;
        var serving = Task.Run(async () =>
        {
            var handlers = new List<Task>(streams);
            for (int i = 0; i < streams; i++)
            {
                var stream = await Server.AcceptStreamAsync(ct).ConfigureAwait(false);
                handlers.Add(Task.Run(async () =>
                {
                    await using (stream.ConfigureAwait(false))
                    {
                        var (n, match) = await BulkPattern.ReadAsync(stream, bytesPerStream, ct).ConfigureAwait(false);
                        if (!match || n != bytesPerStream)
                            throw new InvalidDataException($"A stream carried {n} bytes (match {match}), not {bytesPerStream}.");
                        Interlocked.Add(ref received, n);
                        await stream.CloseWriteAsync(ct).ConfigureAwait(false);
                    }
                }, ct));
            }
            await Task.WhenAll(handlers).ConfigureAwait(false);
        }, ct);
        var sending = Enumerable.Range(0, streams).Select(_ => Task.Run(async () =>
        {
            var stream = await Client.OpenStreamAsync(ct).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                await BulkPattern.WriteAsync(stream, bytesPerStream, ct).ConfigureAwait(false);
                await stream.CloseWriteAsync(ct).ConfigureAwait(false);
                // Wait for the server's close, so the stream is done on both sides.
                var (n, _) = await BulkPattern.ReadAsync(stream, 0, ct).ConfigureAwait(false);
                if (n != 0)
                    throw new InvalidDataException("The server wrote on a sink stream.");
            }
        }, ct)).ToArray();
        await Task.WhenAll(sending).ConfigureAwait(false);
        await serving.ConfigureAwait(false);
        if (received != (long)streams * bytesPerStream)
            throw new InvalidDataException($"The server received {received} bytes, not {(long)streams * bytesPerStream}.");
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync().ConfigureAwait(false);
        await Server.DisposeAsync().ConfigureAwait(false);
        _sockets.Dispose();
    }
}
