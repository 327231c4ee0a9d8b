namespace QuDag.P2p.Encoding;

/// <summary>
/// A minimal protobuf reader for libp2p's small messages (keys, the Noise payload, identify): varint and
/// length-delimited fields; fixed32/64 are skipped; groups and malformed input are protocol errors.
/// </summary>
public ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public ProtoReader(ReadOnlySpan<byte> data) { _data = data; _position = 0; }

    /// <summary>The field number just read.</summary>
    public int FieldNumber { get; private set; }

    /// <summary>The wire type of the field just read (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).</summary>
    public int WireType { get; private set; }

    /// <summary>Moves to the next field; false at the end of the message.</summary>
    public bool Next()
    {
        if (_position >= _data.Length) return false;
        ulong tag = Varint.Read(_data[_position..], out int n);
        _position += n;
        if (tag >> 3 is 0 or > int.MaxValue)
            throw new P2pProtocolException("A protobuf field number is out of range.");
        FieldNumber = (int)(tag >> 3);
        WireType = (int)(tag & 7);
        if (WireType is not (0 or 1 or 2 or 5))
            throw new P2pProtocolException($"Unsupported protobuf wire type {WireType}.");
        return true;
    }

    /// <summary>Reads the current varint field.</summary>
    public ulong ReadVarint()
    {
        if (WireType != 0) throw new P2pProtocolException($"Protobuf field {FieldNumber} is not a varint.");
        ulong value = Varint.Read(_data[_position..], out int n);
        _position += n;
        return value;
    }

    /// <summary>Reads the current length-delimited field; the span points into the message.</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        if (WireType != 2) throw new P2pProtocolException($"Protobuf field {FieldNumber} is not length-delimited.");
        ulong length = Varint.Read(_data[_position..], out int n);
        _position += n;
        if (length > (ulong)(_data.Length - _position))
            throw new P2pProtocolException($"Protobuf field {FieldNumber} runs past the end of the message.");
        var value = _data.Slice(_position, (int)length);
        _position += (int)length;
        return value;
    }

    /// <summary>Skips the current field, whatever its type.</summary>
    public void Skip()
    {
        switch (WireType)
        {
            case 0: ReadVarint(); break;
            case 2: ReadBytes(); break;
            default:
                int size = WireType == 1 ? 8 : 4;
                if (_data.Length - _position < size) throw new P2pProtocolException("A protobuf fixed field is truncated.");
                _position += size;
                break;
        }
    }
}
