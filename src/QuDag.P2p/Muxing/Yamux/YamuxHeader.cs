using System.Buffers.Binary;

namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// The fixed 12-byte yamux header, all fields big-endian: version (always 0), type, flags, stream id and
/// length. For Data the length counts the payload that follows; for WindowUpdate it is the credit delta;
/// for Ping the opaque value; for GoAway the error code.
/// </summary>
internal readonly record struct YamuxHeader(YamuxFrameType Type, YamuxFlags Flags, uint StreamId, uint Length)
{
    public const int Size = 12;
    public const byte Version = 0;

    public void Write(Span<byte> destination)
    {
        // One bounds check for the whole header instead of one per field.
        _ = destination[Size - 1];
        destination[0] = Version;
        destination[1] = (byte)Type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)Flags);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], StreamId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], Length);
    }

    /// <summary>Decodes a header; an unknown version or type is a protocol error (unknown flag bits are ignored, as go-yamux does).</summary>
    public static YamuxHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
            throw new P2pProtocolException($"A yamux header is {Size} bytes; got {source.Length}.");
        if (source[0] != Version)
            throw new P2pProtocolException($"Unsupported yamux version {source[0]}.");
        byte type = source[1];
        if (type > (byte)YamuxFrameType.GoAway)
            throw new P2pProtocolException($"Unknown yamux frame type {type}.");
        return new YamuxHeader(
            (YamuxFrameType)type,
            (YamuxFlags)BinaryPrimitives.ReadUInt16BigEndian(source[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[8..]));
    }

    public override string ToString() => $"{Type} flags={Flags} stream={StreamId} length={Length}";
}
