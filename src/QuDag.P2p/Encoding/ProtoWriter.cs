using System.Buffers;

namespace QuDag.P2p.Encoding;

/// <summary>Writes protobuf fields in field order, which is the deterministic encoding libp2p signs and hashes.</summary>
public static class ProtoWriter
{
    public static void WriteVarintField(ArrayBufferWriter<byte> writer, int field, ulong value)
    {
        Varint.Write(writer, (ulong)field << 3);
        Varint.Write(writer, value);
    }

    public static void WriteBytesField(ArrayBufferWriter<byte> writer, int field, ReadOnlySpan<byte> value)
    {
        Varint.Write(writer, ((ulong)field << 3) | 2);
        Varint.Write(writer, (ulong)value.Length);
        writer.Write(value);
    }

    public static void WriteStringField(ArrayBufferWriter<byte> writer, int field, string value)
        => WriteBytesField(writer, field, System.Text.Encoding.UTF8.GetBytes(value));
}
