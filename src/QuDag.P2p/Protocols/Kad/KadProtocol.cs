using System.Buffers;
using QuDag.P2p.Encoding;
using QuDag.P2p.Muxing;

namespace QuDag.P2p.Protocols.Kad;

/// <summary>
/// The Kademlia wire (libp2p kad-dht spec): each message is a uvarint length and a <see cref="KadMessage"/> protobuf.
/// A client opens a stream per request, writes one request and reads one response (ADD_PROVIDER has none); a server
/// answers every request on a stream until the client closes its side. The length is checked against a cap before
/// anything is buffered, so a hostile length costs nothing.
/// </summary>
public static class KadProtocol
{
    /// <summary>The protocol id rust-libp2p, js-libp2p and go-libp2p use (and QuDAG nodes, whose README says /kad/1.0.0).</summary>
    public const string DefaultId = "/ipfs/kad/1.0.0";

    /// <summary>
    /// The largest message read by default: 64 KiB. rust-libp2p refuses more than 16 KiB (so what we send stays under
    /// that), js-libp2p 4 MiB; 64 KiB holds any honest response (20 peers with their addresses, a record of rust's
    /// 65 KiB value cap does not fit rust's own packets) while bounding what a hostile peer can make us hold.
    /// </summary>
    public const int DefaultMaxMessageSize = 64 * 1024;

    /// <summary>rust-libp2p's limit on a packet, which every message we send to an unknown peer must respect.</summary>
    public const int RustMaxMessageSize = 16 * 1024;

    /// <summary>How long a request and its response may take by default (rust's substream timeout, js's 10 s).</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Writes one length-prefixed message in a single write.</summary>
    public static async Task WriteAsync(Stream stream, KadMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(message);
        var body = new ArrayBufferWriter<byte>(256);
        message.WriteTo(body);
        var frame = new byte[Varint.SizeOf((ulong)body.WrittenCount) + body.WrittenCount];
        int prefix = Varint.Write(frame, (ulong)body.WrittenCount);
        body.WrittenSpan.CopyTo(frame.AsSpan(prefix));
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads one length-prefixed message. Returns null when the stream ends cleanly before a message starts (the
    /// client is done). Throws <see cref="P2pProtocolException"/> for a length over <paramref name="maxSize"/> (before
    /// reading the body), a stream that ends inside a message, or a malformed message.
    /// </summary>
    public static async Task<KadMessage?> ReadAsync(Stream stream, int maxSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSize);
        ulong? length = await Varint.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
        if (length is null)
            return null;
        if (length > (ulong)maxSize)
            throw new P2pProtocolException($"A Kademlia message of {length} bytes exceeds the maximum of {maxSize}.");
        int size = (int)length.Value;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        try
        {
            try
            {
                await stream.ReadExactlyAsync(buffer.AsMemory(0, size), cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException ex)
            {
                throw new P2pProtocolException($"The stream ended inside a Kademlia message of {size} bytes.", ex);
            }
            return KadMessage.Parse(buffer.AsSpan(0, size));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The client's call on a stream already negotiated to the kad protocol: writes <paramref name="request"/>, reads one
    /// response of the same type, all within <paramref name="timeout"/>. The caller disposes the stream afterwards (one
    /// request per stream, as the spec and every implementation do).
    /// </summary>
    /// <exception cref="ArgumentException">The request is an ADD_PROVIDER, which has no response: use <see cref="SendAsync"/>.</exception>
    /// <exception cref="TimeoutException">No whole response within <paramref name="timeout"/>.</exception>
    /// <exception cref="P2pProtocolException">No response (the stream ended), an oversized or malformed one, or one of another type.</exception>
    public static async Task<KadMessage> RequestAsync(Stream stream, KadMessage request, TimeSpan timeout, int maxSize = DefaultMaxMessageSize,
        TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Type == KadMessageType.AddProvider)
            throw new ArgumentException("ADD_PROVIDER has no response; send it with SendAsync.", nameof(request));
        using var deadline = new Deadline(timeout, timeProvider, cancellationToken);
        try
        {
            await WriteAsync(stream, request, deadline.Token).ConfigureAwait(false);
            var response = await ReadAsync(stream, maxSize, deadline.Token).ConfigureAwait(false)
                ?? throw new P2pProtocolException($"The remote closed the stream without answering a {request.Type} request.");
            if (response.Type != request.Type)
                throw new P2pProtocolException($"A {request.Type} request was answered with {response.Type}.");
            return response;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No answer to a Kademlia {request.Type} request within {timeout.TotalSeconds:0.###} s.");
        }
    }

    /// <summary>
    /// Writes a request that has no response (ADD_PROVIDER) and closes the write side, within <paramref name="timeout"/>.
    /// </summary>
    /// <exception cref="TimeoutException">The write did not complete within <paramref name="timeout"/>.</exception>
    public static async Task SendAsync(Stream stream, KadMessage request, TimeSpan timeout, TimeProvider? timeProvider = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var deadline = new Deadline(timeout, timeProvider, cancellationToken);
        try
        {
            await WriteAsync(stream, request, deadline.Token).ConfigureAwait(false);
            if (stream is MuxedStream muxed)
                await muxed.CloseWriteAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"A Kademlia {request.Type} message could not be sent within {timeout.TotalSeconds:0.###} s.");
        }
    }

    /// <summary>A request's deadline on a clock of the caller's choice, linked to the caller's token.</summary>
    private sealed class Deadline : IDisposable
    {
        private readonly CancellationTokenSource _timer;
        private readonly CancellationTokenSource _linked;

        public Deadline(TimeSpan timeout, TimeProvider? timeProvider, CancellationToken cancellationToken)
        {
            if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive.");
            _timer = new CancellationTokenSource(timeout, timeProvider ?? TimeProvider.System);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timer.Token);
        }

        public CancellationToken Token => _linked.Token;

        /// <summary>True once the deadline passed (not when only the caller cancelled).</summary>
        public bool IsCancellationRequested => _timer.IsCancellationRequested;

        public void Dispose()
        {
            _linked.Dispose();
            _timer.Dispose();
        }
    }
}
