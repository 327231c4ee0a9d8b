using System.Buffers;
using QuDag.P2p.Encoding;
using QuDag.P2p.Muxing;

namespace QuDag.P2p.Protocols.Identify;

/// <summary>
/// libp2p identify (<c>/ipfs/id/1.0.0</c>) and identify push (<c>/ipfs/id/push/1.0.0</c>). On identify the
/// peer that opened the stream reads and the other writes; on push the opener writes. Either way the
/// writer sends one uvarint-length-prefixed <see cref="IdentifyMessage"/> and closes its side, and the
/// reader reads to the end of the stream, merging every message it finds (go-libp2p splits a large one).
/// </summary>
public static class IdentifyProtocol
{
    /// <summary>Identify: the opener asks, the other side answers.</summary>
    public const string Id = "/ipfs/id/1.0.0";

    /// <summary>Identify push: the opener announces a change of its own information.</summary>
    public const string PushId = "/ipfs/id/push/1.0.0";

    /// <summary>
    /// The most a reader accepts, length prefixes included. go-libp2p reads up to 10 messages of up to
    /// 8 KiB each (signedIDSize), js-libp2p one of up to 8 KiB, rust-libp2p 0.53 one of up to 4 KiB; 64 KiB
    /// takes anything go sends in practice (a key, a few dozen addresses and protocols, a signed record)
    /// while bounding what a hostile peer can make us buffer. Keep what we send under 4 KiB for rust peers.
    /// </summary>
    public const int DefaultMaxSize = 64 * 1024;

    /// <summary>
    /// Writes <paramref name="message"/> as one length-prefixed protobuf in a single write, then closes the
    /// write side when <paramref name="stream"/> is a <see cref="MuxedStream"/>. Over any other stream the
    /// caller ends the stream (disposing it or shutting down its socket) so the reader sees the end.
    /// </summary>
    public static async Task WriteAsync(Stream stream, IdentifyMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(message);
        byte[] protobuf = message.ToProtobuf();
        var frame = new ArrayBufferWriter<byte>(protobuf.Length + Varint.MaxLength);
        Varint.Write(frame, (ulong)protobuf.Length);
        frame.Write(protobuf);
        await stream.WriteAsync(frame.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (stream is MuxedStream muxed)
            await muxed.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads to the end of <paramref name="stream"/>, at most <see cref="DefaultMaxSize"/> bytes, and returns the merged message.</summary>
    public static Task<IdentifyMessage> ReadAsync(Stream stream, CancellationToken cancellationToken)
        => ReadAsync(stream, DefaultMaxSize, cancellationToken);

    /// <summary>
    /// Reads to the end of <paramref name="stream"/> and returns the merged message. Throws
    /// <see cref="P2pProtocolException"/> when the stream carries more than <paramref name="maxSize"/>
    /// bytes, no message, a truncated message or a malformed one. A peer that never closes its side is the
    /// caller's to time out through <paramref name="cancellationToken"/>.
    /// </summary>
    public static async Task<IdentifyMessage> ReadAsync(Stream stream, int maxSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSize);
        var received = new ArrayBufferWriter<byte>(Math.Min(maxSize, 4096));
        while (true)
        {
            // Ask for one byte past the cap so an oversized stream is told apart from one that fills it. Read into the
            // room the buffer has and grow it only when full: asking for 16 KiB grew (and zeroed) the 4 KiB buffer on
            // every read, where an identify message is a few hundred bytes (a third of a dialer's allocations).
            int room = maxSize + 1 - received.WrittenCount;
            var buffer = received.GetMemory();
            int read = await stream.ReadAsync(buffer[..Math.Min(room, buffer.Length)], cancellationToken).ConfigureAwait(false);
            if (read == 0)
                break;
            received.Advance(read);
            if (received.WrittenCount > maxSize)
                throw new P2pProtocolException($"The identify stream carries more than the {maxSize} bytes allowed.");
        }
        return ParseMessages(received.WrittenSpan);
    }

    /// <summary>Parses the whole content of an identify stream: one or more length-prefixed protobufs, merged.</summary>
    internal static IdentifyMessage ParseMessages(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty)
            throw new P2pProtocolException("The identify stream ended before a message.");
        var builder = new IdentifyMessage.Builder();
        while (!content.IsEmpty)
        {
            ulong length = Varint.Read(content, out int prefix);
            if (length > (ulong)(content.Length - prefix))
                throw new P2pProtocolException($"An identify message says {length} bytes but the stream ends after {content.Length - prefix}.");
            builder.Merge(content.Slice(prefix, (int)length));
            content = content[(prefix + (int)length)..];
        }
        return builder.Build();
    }
}
