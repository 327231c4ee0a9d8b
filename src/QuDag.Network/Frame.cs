using System.Buffers;
using System.Buffers.Binary;

namespace QuDag.Network;

/// <summary>The frame types of the QuDAG wire protocol (docs/PROTOCOL.md).</summary>
public enum FrameType : byte
{
    /// <summary>First frame each way: protocol version and capabilities.</summary>
    Hello = 1,

    /// <summary>Asks for a PONG with the same 8-byte token.</summary>
    Ping = 2,

    /// <summary>Answers a PING.</summary>
    Pong = 3,

    /// <summary>An opaque application message.</summary>
    Data = 4,

    /// <summary>The sender is closing; a code and a UTF-8 reason.</summary>
    Close = 5,
}

/// <summary>Encodes and decodes frames: <c>[u32 big-endian payload length][u8 type][payload]</c>.</summary>
public static class Frame
{
    /// <summary>Length prefix plus type byte.</summary>
    public const int HeaderSize = 5;

    /// <summary>No configured maximum may be below this: HELLO and CLOSE must always fit.</summary>
    public const int MinimumMaxFrameSize = 512;

    /// <summary>
    /// Reads one frame from the front of <paramref name="buffer"/>. Returns false when more bytes are needed.
    /// The declared length is checked against <paramref name="maxFrameSize"/> as soon as the header is
    /// there, before the payload is waited for, so an oversized frame never gets buffered.
    /// </summary>
    /// <exception cref="QuDagProtocolException">Oversized frame or unknown type.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxFrameSize, out FrameType type, out ReadOnlySequence<byte> payload)
    {
        type = default;
        payload = default;
        if (buffer.Length < HeaderSize)
            return false;
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length > (uint)maxFrameSize)
            throw new QuDagProtocolException($"Frame of {length} bytes exceeds the maximum frame size of {maxFrameSize} bytes.");
        type = (FrameType)header[4];
        if (type is < FrameType.Hello or > FrameType.Close)
            throw new QuDagProtocolException($"Unknown frame type {header[4]}.");
        if (buffer.Length - HeaderSize < length)
            return false;
        payload = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    /// <summary>Writes a header for a payload of <paramref name="length"/> bytes.</summary>
    public static void WriteHeader(Span<byte> destination, FrameType type, int length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)length);
        destination[4] = (byte)type;
    }

    /// <summary>Writes a whole frame to <paramref name="writer"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, FrameType type, ReadOnlySpan<byte> payload)
    {
        var span = writer.GetSpan(HeaderSize + payload.Length);
        WriteHeader(span, type, payload.Length);
        payload.CopyTo(span[HeaderSize..]);
        writer.Advance(HeaderSize + payload.Length);
    }
}
