using System.Buffers;
using System.Formats.Cbor;

namespace QuDag.Network.Messaging;

/// <summary>
/// The body of QuDAG's <c>/qudag/req/1.0.0</c> as rust-libp2p 0.53's cbor codec writes it with serde: a
/// definite CBOR map <c>{"request_id": text, "payload": [uint, ...]}</c>. serde writes a <c>Vec&lt;u8&gt;</c>
/// without serde_bytes as an ARRAY of small unsigned ints, not a byte string, so that is what we write; we
/// read either. There is no length prefix: the writer closes its side and the reader reads to the end.
/// </summary>
public static class QuDagRequestCodec
{
    /// <summary>The protocol id.</summary>
    public const string ProtocolId = "/qudag/req/1.0.0";

    /// <summary>rust-libp2p's cbor codec caps a request at 1 MiB.</summary>
    public const int MaxRequestSize = 1024 * 1024;

    /// <summary>rust-libp2p's cbor codec caps a response at 10 MiB.</summary>
    public const int MaxResponseSize = 10 * 1024 * 1024;

    /// <summary>Encodes one request or response body.</summary>
    public static byte[] Encode(string requestId, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        var writer = new CborWriter(CborConformanceMode.Strict, convertIndefiniteLengthEncodings: false, allowMultipleRootLevelValues: false);
        writer.WriteStartMap(2);
        writer.WriteTextString("request_id");
        writer.WriteTextString(requestId);
        writer.WriteTextString("payload");
        writer.WriteStartArray(payload.Length);
        foreach (byte b in payload)
            writer.WriteUInt32(b);
        writer.WriteEndArray();
        writer.WriteEndMap();
        return writer.Encode();
    }

    /// <summary>
    /// Decodes one body; throws <see cref="QuDagProtocolException"/> for anything that is not the map above
    /// (unknown keys are skipped, as serde does; a payload element over 255 or a missing field is an error).
    /// </summary>
    public static (string RequestId, byte[] Payload) Decode(ReadOnlyMemory<byte> body)
    {
        try
        {
            var reader = new CborReader(body, CborConformanceMode.Lax);
            int? count = reader.ReadStartMap();
            string? requestId = null;
            byte[]? payload = null;
            for (int i = 0; count is null ? reader.PeekState() != CborReaderState.EndMap : i < count; i++)
            {
                string key = reader.ReadTextString();
                switch (key)
                {
                    case "request_id" when requestId is null:
                        requestId = reader.ReadTextString();
                        break;
                    case "payload" when payload is null:
                        payload = ReadPayload(reader);
                        break;
                    case "request_id" or "payload":
                        throw new QuDagProtocolException($"The field '{key}' appears twice.");
                    default:
                        reader.SkipValue();
                        break;
                }
            }
            reader.ReadEndMap();
            if (reader.BytesRemaining != 0)
                throw new QuDagProtocolException("Bytes follow the CBOR map.");
            if (requestId is null || payload is null)
                throw new QuDagProtocolException($"The message lacks '{(requestId is null ? "request_id" : "payload")}'.");
            return (requestId, payload);
        }
        catch (Exception ex) when (ex is CborContentException or InvalidOperationException or FormatException or OverflowException)
        {
            throw new QuDagProtocolException($"Not a /qudag/req/1.0.0 message: {ex.Message}");
        }
    }

    private static byte[] ReadPayload(CborReader reader)
    {
        if (reader.PeekState() == CborReaderState.ByteString)
            return reader.ReadByteString();
        // An empty Vec<u8> is the empty array (0x80): a valid payload, as rust's serde and js's cborg write it. A
        // declared length is only a claim: the buffer grows with the elements actually read, never with the claim.
        int? declared = reader.ReadStartArray();
        var bytes = new ArrayBufferWriter<byte>(Math.Clamp(declared ?? 256, 1, Math.Max(1, reader.BytesRemaining)));
        while (reader.PeekState() != CborReaderState.EndArray)
        {
            uint value = reader.ReadUInt32();
            if (value > 255)
                throw new QuDagProtocolException($"A payload element is {value}, not a byte.");
            bytes.GetSpan(1)[0] = (byte)value;
            bytes.Advance(1);
        }
        reader.ReadEndArray();
        return bytes.WrittenSpan.ToArray();
    }

    /// <summary>Reads a stream to its end, failing with <see cref="QuDagProtocolException"/> past <paramref name="maxSize"/> bytes.</summary>
    public static async Task<byte[]> ReadToEndAsync(Stream stream, int maxSize, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        int length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length >= maxSize + 1)
                        throw new QuDagProtocolException($"The message is larger than {maxSize} bytes.");
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxSize + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                int read = await stream.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, maxSize + 1) - length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                    return buffer.AsSpan(0, length).ToArray();
                length += read;
                if (length > maxSize)
                    throw new QuDagProtocolException($"The message is larger than {maxSize} bytes.");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
