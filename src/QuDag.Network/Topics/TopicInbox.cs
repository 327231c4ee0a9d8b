using System.Threading.Channels;

namespace QuDag.Network;

/// <summary>
/// A subscribed topic's received messages waiting for the application. Bounded, and unlike direct messages it drops
/// the oldest when full (counted) rather than waiting: a stalled reader must not stall the router, which forwards
/// for the whole mesh from the same readers.
/// </summary>
internal sealed class TopicInbox(int capacity)
{
    private readonly Channel<TopicMessage> _channel = Channel.CreateBounded<TopicMessage>(new BoundedChannelOptions(capacity)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
    }, _ => { });
    private long _dropped;

    public long Dropped => Interlocked.Read(ref _dropped);

    public int Count => _channel.Reader.Count;

    public void Add(TopicMessage message)
    {
        if (_channel.Reader.Count >= capacity)
            Interlocked.Increment(ref _dropped);
        _channel.Writer.TryWrite(message);
    }

    /// <exception cref="TopicNotSubscribedException">The topic was left while waiting.</exception>
    public async ValueTask<TopicMessage> ReceiveAsync(string topic, CancellationToken cancellationToken)
    {
        try
        {
            return await _channel.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new TopicNotSubscribedException(topic);
        }
    }

    public bool TryReceive(out TopicMessage? message) => _channel.Reader.TryRead(out message);

    public void Complete() => _channel.Writer.TryComplete();
}
