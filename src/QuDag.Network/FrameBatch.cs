using System.Buffers;

namespace QuDag.Network;

/// <summary>
/// Encoded frames waiting to be written in one go, in an array rented from the shared pool and given back as soon as
/// the batch is on the wire, so an idle connection holds no send buffer. Not thread-safe: the owner locks.
/// </summary>
internal sealed class FrameBatch
{
    private const int MinimumSize = 16 * 1024;
    private byte[] _array = [];
    private int _count;

    public int Count => _count;

    public ReadOnlyMemory<byte> Written => _array.AsMemory(0, _count);

    public void Write(FrameType type, ReadOnlySpan<byte> payload)
    {
        var end = _count + Frame.HeaderSize + payload.Length;
        if (end > _array.Length)
            Grow(end);
        var span = _array.AsSpan(_count);
        Frame.WriteHeader(span, type, payload.Length);
        payload.CopyTo(span[Frame.HeaderSize..]);
        _count = end;
    }

    /// <summary>Empties the batch and returns its array to the pool.</summary>
    public void Release()
    {
        _count = 0;
        if (_array.Length == 0)
            return;
        ArrayPool<byte>.Shared.Return(_array);
        _array = [];
    }

    private void Grow(int needed)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(MinimumSize, _array.Length * 2)));
        _array.AsSpan(0, _count).CopyTo(bigger);
        if (_array.Length > 0)
            ArrayPool<byte>.Shared.Return(_array);
        _array = bigger;
    }
}
