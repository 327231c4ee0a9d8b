using QuDag.P2p.Resources;

namespace QuDag.P2p.Muxing;

/// <summary>A stream multiplexer (<c>/yamux/1.0.0</c>): makes sessions over a secured channel.</summary>
public interface IStreamMuxer
{
    /// <summary>The multistream-select protocol id, such as "/yamux/1.0.0".</summary>
    string ProtocolId { get; }

    /// <summary>
    /// Starts a session over <paramref name="secured"/>; the session owns the stream from then on. Its streams reserve
    /// their slots and buffers in <paramref name="scope"/> (null: no accounting); the session releases it when it ends,
    /// before its <see cref="IMuxedSession.Completion"/> completes.
    /// </summary>
    IMuxedSession CreateSession(Stream secured, bool isInitiator, ConnectionScope? scope = null);
}

/// <summary>
/// Many independent, flow-controlled streams over one connection. Disposing it resets every open stream
/// and closes the underlying stream.
/// </summary>
public interface IMuxedSession : IAsyncDisposable
{
    /// <summary>Opens an outbound stream.</summary>
    ValueTask<MuxedStream> OpenStreamAsync(CancellationToken cancellationToken);

    /// <summary>Waits for the remote to open a stream; throws <see cref="MuxerClosedException"/> once the session ends.</summary>
    ValueTask<MuxedStream> AcceptStreamAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Waits for the remote to open a stream; null once the session has ended. For an accept loop that runs for the
    /// session's whole life: its end is the normal outcome there, not an error worth an exception on every close.
    /// </summary>
    ValueTask<MuxedStream?> TryAcceptStreamAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Instead of an accept loop: hands every stream the remote opens to <paramref name="onStream"/> (on the thread pool,
    /// with <paramref name="state"/>) as it arrives, then null once when the session has ended. An accept loop keeps a task
    /// waiting for the session's whole life, which most of the time is an idle connection's; this keeps none. Once per
    /// session, and not beside <see cref="AcceptStreamAsync"/>.
    /// </summary>
    void AcceptStreams(Action<object, MuxedStream?> onStream, object state);

    /// <summary>Completes when the session has ended, for whatever reason (faulted with it, if an error).</summary>
    Task Completion { get; }

    /// <summary>True until the session ends.</summary>
    bool IsOpen { get; }

    /// <summary>How many streams are open now.</summary>
    int StreamCount { get; }

    /// <summary>
    /// Tells the remote that no new streams will be accepted (yamux GoAway, normal termination), lets open
    /// streams finish and then closes.
    /// </summary>
    ValueTask CloseAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Closes now, in order: what is already queued (data, FINs) goes out, then GoAway(normal), then the
    /// connection closes; open streams are reset locally. What a connection's close wants, since long-lived
    /// streams (ping, messages) never finish by themselves.
    /// </summary>
    ValueTask ShutdownAsync();

    /// <summary>
    /// Starts the close <see cref="IAsyncDisposable.DisposeAsync"/> makes and returns at once: for a caller that learns
    /// the end from <see cref="Completion"/> anyway (a pool closing idle connections in bulk), one waiter fewer per close.
    /// </summary>
    void Abort();

    /// <summary>Sends a muxer-level ping and returns the round-trip time.</summary>
    ValueTask<TimeSpan> PingAsync(CancellationToken cancellationToken);
}

/// <summary>
/// One muxed stream: a duplex <see cref="Stream"/> whose writes are backpressured by the remote's window.
/// <see cref="Stream.Dispose()"/> closes both halves gracefully.
/// </summary>
public abstract class MuxedStream : Stream
{
    /// <summary>The stream id (yamux: the dialer's are odd, the listener's even).</summary>
    public abstract long Id { get; }

    /// <summary>The protocol negotiated on the stream, set by the layer that negotiated it.</summary>
    public string? Protocol { get; set; }

    /// <summary>What the stream holds in the node's resource scopes; null when there is no accounting. The layer that
    /// negotiated the stream attaches it to its protocol (<see cref="StreamScope.SetProtocol"/>).</summary>
    public virtual StreamScope? Scope => null;

    /// <summary>Half-closes: no more writes; reads go on until the remote closes its side.</summary>
    public abstract ValueTask CloseWriteAsync(CancellationToken cancellationToken = default);

    /// <summary>Aborts the stream in both directions (yamux RST); pending reads and writes fail.</summary>
    public abstract void Reset();

    /// <summary>True while a write waits for the remote's flow-control credit: the remote reads no faster (tests).</summary>
    internal virtual bool WaitingForCredit => false;
}

/// <summary>The session ended (closed, GoAway received, or failed); no stream can be opened or accepted.</summary>
public sealed class MuxerClosedException : P2pException
{
    public MuxerClosedException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The remote reset the stream, or the session ended under it.</summary>
public sealed class StreamResetException : IOException
{
    public StreamResetException(string message, Exception? inner = null) : base(message, inner) { }
}
