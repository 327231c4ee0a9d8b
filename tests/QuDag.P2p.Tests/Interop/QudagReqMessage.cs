using System.Formats.Cbor;

namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// A /qudag/req/1.0.0 request or response as QuDAG's rust-libp2p cbor codec (serde) writes it: a definite
/// CBOR map with text keys in declaration order, <c>{"request_id": text, "payload": [uint, ...]}</c>;
/// serde writes <c>Vec&lt;u8&gt;</c> as an array of unsigned ints, not a byte string. One message per stream,
/// no length prefix: the writer closes its side and the reader reads to the end.
/// </summary>
public sealed record QudagReqMessage(string RequestId, byte[] Payload)
{
    /// <summary>rust-libp2p's request cap (cbor codec default).</summary>
    public const int MaxRequestBytes = 1024 * 1024;

    /// <summary>rust-libp2p's response cap (cbor codec default).</summary>
    public const int MaxResponseBytes = 10 * 1024 * 1024;

    private static readonly byte[] AckPrefix = "ack:"u8.ToArray();

    /// <summary>js's answer rule: the same request id, payload "ack:" + the request's payload.</summary>
    public QudagReqMessage Ack() => new(RequestId, [.. AckPrefix, .. Payload]);

    public byte[] Encode()
    {
        var writer = new CborWriter(CborConformanceMode.Strict);
        writer.WriteStartMap(2);
        writer.WriteTextString("request_id");
        writer.WriteTextString(RequestId);
        writer.WriteTextString("payload");
        writer.WriteStartArray(Payload.Length);
        foreach (byte b in Payload)
            writer.WriteUInt32(b);
        writer.WriteEndArray();
        writer.WriteEndMap();
        return writer.Encode();
    }

    /// <summary>Decodes one whole message as serde would accept it (any key order, unknown keys skipped).</summary>
    /// <exception cref="FormatException">The bytes are not exactly one such message.</exception>
    public static QudagReqMessage Decode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var reader = new CborReader(bytes, CborConformanceMode.Lax);
            string? requestId = null;
            byte[]? payload = null;
            int? count = reader.ReadStartMap();
            while (count is null ? reader.PeekState() != CborReaderState.EndMap : count-- > 0)
            {
                switch (reader.ReadTextString())
                {
                    case "request_id" when requestId is null:
                        requestId = reader.ReadTextString();
                        break;
                    case "payload" when payload is null:
                        payload = ReadByteArray(reader);
                        break;
                    case "request_id" or "payload":
                        throw new FormatException("A /qudag/req/1.0.0 message repeats a field.");
                    default:
                        reader.SkipValue();
                        break;
                }
            }
            reader.ReadEndMap();
            if (reader.BytesRemaining != 0)
                throw new FormatException("Bytes follow the /qudag/req/1.0.0 message.");
            return new QudagReqMessage(
                requestId ?? throw new FormatException("A /qudag/req/1.0.0 message lacks request_id."),
                payload ?? throw new FormatException("A /qudag/req/1.0.0 message lacks payload."));
        }
        catch (Exception e) when (e is CborContentException or InvalidOperationException or OverflowException)
        {
            throw new FormatException($"Not a /qudag/req/1.0.0 message: {e.Message}", e);
        }
    }

    private static byte[] ReadByteArray(CborReader reader)
    {
        var bytes = new List<byte>();
        int? count = reader.ReadStartArray();
        while (count is null ? reader.PeekState() != CborReaderState.EndArray : count-- > 0)
        {
            uint value = reader.ReadUInt32();
            if (value > byte.MaxValue)
                throw new FormatException($"A payload element {value} is not a byte.");
            bytes.Add((byte)value);
        }
        reader.ReadEndArray();
        return [.. bytes];
    }
}
