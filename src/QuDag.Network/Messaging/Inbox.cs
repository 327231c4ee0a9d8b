using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace QuDag.Network;

/// <summary>
/// Received messages waiting for the application: a bounded channel, so when the application does not keep up a
/// delivery waits and its connection stops reading (yamux's window then holds the sender back). Counts what it
/// holds in the metrics' queued bytes, and a message as received once queued.
/// </summary>
internal sealed class Inbox(int capacity, ManagerMetrics metrics)
{
    private readonly Channel<PeerMessage> _channel = Channel.CreateBounded<PeerMessage>(new BoundedChannelOptions(capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleWriter = false,
    });

    private int _waitingDeliveries;

    /// <summary>Deliveries waiting for room: each holds its connection's reader, so backpressure is engaged.</summary>
    internal int WaitingDeliveries => Volatile.Read(ref _waitingDeliveries);

    public ValueTask EnqueueAsync(PeerMessage message, CancellationToken cancellationToken)
    {
        metrics.RecordQueued(message.Payload.Length);
        // Counted once queued, so a reader that sees the count can also receive the message.
        if (_channel.Writer.TryWrite(message))
        {
            metrics.RecordReceived(message.Payload.Length);
            return default;
        }
        return WaitAndEnqueueAsync(message, cancellationToken);
    }

    // Bounded: when the application does not keep up, this waits and the connection stops reading.
    private async ValueTask WaitAndEnqueueAsync(PeerMessage message, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waitingDeliveries);
        try
        {
            await _channel.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waitingDeliveries);
        }
        metrics.RecordReceived(message.Payload.Length);
    }

    /// <exception cref="ObjectDisposedException">The inbox was completed (the manager was disposed).</exception>
    public async ValueTask<PeerMessage> ReceiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            return Dequeued(await _channel.Reader.ReadAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(ConnectionManager));
        }
    }

    public bool TryReceive([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PeerMessage? message)
    {
        if (_channel.Reader.TryRead(out message))
        {
            Dequeued(message);
            return true;
        }
        return false;
    }

    public async IAsyncEnumerable<PeerMessage> ReceiveAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await _channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (TryReceive(out var message))
                yield return message;
        }
    }

    /// <summary>No more messages: readers drain what is queued, then see the end.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    private PeerMessage Dequeued(PeerMessage message)
    {
        metrics.RecordQueued(-message.Payload.Length);
        return message;
    }
}
