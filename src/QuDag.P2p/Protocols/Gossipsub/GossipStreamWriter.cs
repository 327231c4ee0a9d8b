using System.Buffers;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>What a <see cref="GossipStreamWriter"/> asks of its router.</summary>
internal interface IGossipStreamOwner
{
    /// <summary>The connection to open the stream on; null when the peer has none left.</summary>
    P2pConnection? ConnectionOf(PeerId peer);

    /// <summary>The stream is open on <paramref name="protocol"/>; returns the frame to send first (our subscriptions).</summary>
    byte[]? OnStreamOpened(PeerId peer, string protocol);

    /// <summary>The peer speaks no pubsub protocol, or its stream broke too often: leave it out.</summary>
    void OnStreamAbandoned(PeerId peer, string reason);
}

/// <summary>
/// Our one long-lived outbound pubsub stream to a peer (rust and js keep one too): opens it on our protocols in order
/// of preference, then writes queued RPC frames in batches. The queue is bounded by bytes: past the bound, frames
/// that may be lost (forwards, gossip answers) are dropped and counted; control frames still go.
/// </summary>
internal sealed class GossipStreamWriter : IAsyncDisposable
{
    private const int BatchBytes = 64 * 1024;
    private static readonly TimeSpan NegotiationTimeout = TimeSpan.FromSeconds(10);

    private readonly PeerId _peer;
    private readonly IGossipStreamOwner _owner;
    private readonly int _maxQueuedBytes;
    private readonly int _maxAttempts;
    private readonly Queue<byte[]> _queue = new(); // guarded by itself
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private long _queuedBytes;
    private long _dropped;

    public GossipStreamWriter(PeerId peer, IGossipStreamOwner owner, int maxQueuedBytes, int maxAttempts)
    {
        _peer = peer;
        _owner = owner;
        _maxQueuedBytes = maxQueuedBytes;
        _maxAttempts = maxAttempts;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Frames dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Bytes waiting to be written.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>Queues a frame; false (and counted) when <paramref name="droppable"/> and the queue is over its bound.</summary>
    public bool Enqueue(byte[] frame, bool droppable)
    {
        if (_stopping.IsCancellationRequested)
            return false;
        // Control frames may go past the bound, but not without limit: twice it, then they drop too.
        long limit = droppable ? _maxQueuedBytes : 2L * _maxQueuedBytes;
        lock (_queue)
        {
            if (_queuedBytes + frame.Length > limit)
            {
                Interlocked.Increment(ref _dropped);
                return false;
            }
            _queue.Enqueue(frame);
            Interlocked.Add(ref _queuedBytes, frame.Length);
        }
        _signal.Release();
        return true;
    }

    private async Task RunAsync()
    {
        var token = _stopping.Token;
        MuxedStream? stream = null;
        int failures = 0;
        byte[] batch = [];
        try
        {
            while (!token.IsCancellationRequested)
            {
                if (stream is null)
                {
                    if (_owner.ConnectionOf(_peer) is not { IsOpen: true } connection)
                        return;
                    try
                    {
                        // A remote that never answers multistream-select must not hold the writer: 10 s, as the host's own negotiation.
                        using var negotiation = CancellationTokenSource.CreateLinkedTokenSource(token);
                        negotiation.CancelAfter(NegotiationTimeout);
                        stream = await connection.OpenStreamAsync(GossipsubProtocol.All, negotiation.Token).ConfigureAwait(false);
                    }
                    catch (ProtocolNotSupportedException)
                    {
                        _owner.OnStreamAbandoned(_peer, "it speaks no pubsub protocol");
                        return;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                    {
                        if (++failures >= _maxAttempts)
                        {
                            _owner.OnStreamAbandoned(_peer, $"its pubsub stream failed {failures} times: {ex.Message}");
                            return;
                        }
                        continue;
                    }
                    if (_owner.OnStreamOpened(_peer, stream.Protocol!) is { } hello)
                        await stream.WriteAsync(hello, token).ConfigureAwait(false);
                }
                // No token here: DisposeAsync wakes this wait with a release, so stopping an idle writer (every close of a
                // connection with a pubsub stream) throws nothing, where a cancelled wait threw twice.
                await _signal.WaitAsync().ConfigureAwait(false);
                if (token.IsCancellationRequested)
                    break;
                int length = Collect(ref batch);
                if (length == 0)
                    continue;
                try
                {
                    await stream.WriteAsync(batch.AsMemory(0, length), token).ConfigureAwait(false);
                    // An idle peer holds no batch buffer: most of a topic's peers are idle most of the time.
                    ReturnBatch(ref batch);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    // What was in this batch is lost with the stream; the next frame reopens it.
                    ReturnBatch(ref batch);
                    stream.Reset();
                    await stream.DisposeAsync().ConfigureAwait(false);
                    stream = null;
                    if (++failures >= _maxAttempts)
                    {
                        _owner.OnStreamAbandoned(_peer, $"its pubsub stream failed {failures} times: {ex.Message}");
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        finally
        {
            ReturnBatch(ref batch);
            // A clean end (FIN after what we wrote) if the stream still takes one; one the remote reset, or that ended with
            // its connection, is only released. Either way without an exception.
            if (stream is not null)
                await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void ReturnBatch(ref byte[] batch)
    {
        if (batch.Length > 0)
            ArrayPool<byte>.Shared.Return(batch);
        batch = [];
    }

    /// <summary>Moves queued frames into one batch (up to about 64 KiB, at least one frame); returns its length.</summary>
    private int Collect(ref byte[] batch)
    {
        lock (_queue)
        {
            int length = 0;
            while (_queue.TryPeek(out var frame))
            {
                if (length > 0 && length + frame.Length > BatchBytes)
                    break;
                if (batch.Length < length + frame.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Max(length + frame.Length, BatchBytes));
                    batch.AsSpan(0, length).CopyTo(larger);
                    if (batch.Length > 0)
                        ArrayPool<byte>.Shared.Return(batch);
                    batch = larger;
                }
                frame.CopyTo(batch, length);
                length += frame.Length;
                _queue.Dequeue();
                Interlocked.Add(ref _queuedBytes, -frame.Length);
                // Each frame released the signal once: take the extra releases of the frames batched with this one.
                if (length > frame.Length)
                    _signal.Wait(0);
            }
            return length;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
            return;
        _stopping.Cancel();
        _signal.Release(); // wakes an idle loop, which then sees the cancellation
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
        _signal.Dispose();
    }
}
