using System.Buffers;
using System.Text;
using QuDag.P2p.Encoding;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Protocols.Kad;

/// <summary>
/// A DHT record (<c>Record</c>: key 1, value 2, timeReceived 5 as RFC 3339 text; rust-libp2p adds publisher 666 and
/// ttl 777 in seconds, 0 meaning none). Fields 3 and 4 (author, signature) were removed from the spec and are skipped.
/// </summary>
public sealed record KadRecord
{
    /// <summary>The longest timeReceived accepted: an RFC 3339 time is about 30 characters.</summary>
    public const int MaxTimeReceivedLength = 64;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public byte[] Key { get; init; } = [];

    public byte[] Value { get; init; } = [];

    /// <summary>When the sender received the record, RFC 3339 (js sets it when it stores one, and expires records by it).</summary>
    public string? TimeReceived { get; init; }

    /// <summary>The original publisher (rust-libp2p only), or null.</summary>
    public PeerId? Publisher { get; init; }

    /// <summary>The remaining time to live in seconds (rust-libp2p only); 0 when unknown.</summary>
    public uint TtlSeconds { get; init; }

    public byte[] ToProtobuf()
    {
        var writer = new ArrayBufferWriter<byte>(Key.Length + Value.Length + 48);
        if (Key.Length > 0) ProtoWriter.WriteBytesField(writer, 1, Key);
        if (Value.Length > 0) ProtoWriter.WriteBytesField(writer, 2, Value);
        if (!string.IsNullOrEmpty(TimeReceived)) ProtoWriter.WriteStringField(writer, 5, TimeReceived);
        if (Publisher is { } publisher) ProtoWriter.WriteBytesField(writer, 666, publisher.Bytes);
        if (TtlSeconds > 0) ProtoWriter.WriteVarintField(writer, 777, TtlSeconds);
        return writer.WrittenSpan.ToArray();
    }

    /// <exception cref="P2pProtocolException">Malformed protobuf, a publisher that is not a peer id, or a bad timeReceived.</exception>
    public static KadRecord Parse(ReadOnlySpan<byte> protobuf)
    {
        byte[] key = [], value = [];
        string? time = null;
        PeerId? publisher = null;
        uint ttl = 0;
        var reader = new ProtoReader(protobuf);
        while (reader.Next())
        {
            switch (reader.FieldNumber)
            {
                case 1: key = reader.ReadBytes().ToArray(); break;
                case 2: value = reader.ReadBytes().ToArray(); break;
                case 5: time = ReadTime(reader.ReadBytes()); break;
                case 666:
                    var bytes = reader.ReadBytes();
                    if (bytes.Length > 0)
                        publisher = PeerId.TryFromBytes(bytes, out var id, out string? error) ? id : throw new P2pProtocolException($"A record's publisher is not a peer id: {error}");
                    break;
                case 777: ttl = unchecked((uint)reader.ReadVarint()); break;
                default: reader.Skip(); break;
            }
        }
        return new KadRecord { Key = key, Value = value, TimeReceived = time, Publisher = publisher, TtlSeconds = ttl };
    }

    private static string ReadTime(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxTimeReceivedLength)
            throw new P2pProtocolException($"A record's timeReceived of {bytes.Length} bytes is longer than the {MaxTimeReceivedLength} allowed.");
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new P2pProtocolException("A record's timeReceived is not valid UTF-8.", ex);
        }
    }

    /// <summary>RFC 3339 in UTC with nine fractional digits, as js-libp2p and go write it ("2026-11-27T10:00:00.000000000Z").</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'00Z'", System.Globalization.CultureInfo.InvariantCulture);
}
