using System.Buffers;
using System.Buffers.Binary;

namespace QuDag.Network;

/// <summary>The HELLO payload: <c>[u16 protocol version][u32 capabilities]</c>, big-endian.</summary>
public readonly record struct Hello(ushort ProtocolVersion, uint Capabilities)
{
    /// <summary>The protocol version this implementation speaks.</summary>
    public const ushort CurrentVersion = 1;

    /// <summary>The encoded size.</summary>
    public const int Size = 6;

    /// <summary>This implementation's HELLO.</summary>
    public static Hello Current => new(CurrentVersion, 0);

    /// <summary>Encodes the payload.</summary>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, ProtocolVersion);
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], Capabilities);
    }

    /// <summary>Decodes a payload; trailing bytes are allowed for later versions.</summary>
    /// <exception cref="QuDagProtocolException">Too short, or version 0.</exception>
    public static Hello Parse(ReadOnlySequence<byte> payload)
    {
        if (payload.Length < Size)
            throw new QuDagProtocolException($"HELLO payload of {payload.Length} bytes is shorter than {Size}.");
        Span<byte> bytes = stackalloc byte[Size];
        payload.Slice(0, Size).CopyTo(bytes);
        var hello = new Hello(BinaryPrimitives.ReadUInt16BigEndian(bytes), BinaryPrimitives.ReadUInt32BigEndian(bytes[2..]));
        if (hello.ProtocolVersion == 0)
            throw new QuDagProtocolException("HELLO with protocol version 0.");
        return hello;
    }
}
