using System.Buffers;
using System.Numerics;
using QuDag.P2p.Resources;

namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// A stream's received-but-unread bytes: a queue of pooled segments, so an idle stream holds no memory and a
/// slow reader holds at most its window (the session refuses data past the window before it gets here). Segments
/// grow as the bytes pile up (a short message takes a small one, a transfer the reader lags behind takes 16 KiB ones),
/// so the pool is not asked for 16 KiB per short message. Each segment is reserved in the stream's
/// <see cref="StreamScope"/> before it is rented and given back when it is returned, so the scopes count what the
/// buffers really hold. Not thread-safe: the owning stream's lock guards it.
/// </summary>
internal struct YamuxReceiveBuffer
{
    private const int FirstSegment = 512;
    private const int MaxSegment = 16 * 1024;

    private Queue<byte[]>? _segments;
    private byte[]? _tail;
    private int _headOffset;
    private int _tailLength;

    public int Count { get; private set; }

    /// <summary>Appends <paramref name="data"/>; null, or the scope's refusal of a new segment (what fitted was kept).</summary>
    public ResourceLimitExceededException? Append(ReadOnlySpan<byte> data, StreamScope? scope)
    {
        while (!data.IsEmpty)
        {
            if (_tail is null || _tailLength == _tail.Length)
            {
                int grown = _tail is null ? FirstSegment : Math.Min(2 * _tail.Length, MaxSegment);
                // ArrayPool.Shared hands out power-of-two arrays: reserve what it will give.
                int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(grown, Math.Min(data.Length, MaxSegment)));
                if (scope?.TryReserveMemory(size) is { } refused)
                    return refused;
                byte[] segment = ArrayPool<byte>.Shared.Rent(size);
                if (segment.Length != size && scope?.TryReserveMemory(segment.Length - size) is { } refusedExtra)
                {
                    ArrayPool<byte>.Shared.Return(segment);
                    scope.ReleaseMemory(size);
                    return refusedExtra;
                }
                _tail = segment;
                _tailLength = 0;
                (_segments ??= new Queue<byte[]>(2)).Enqueue(_tail);
            }
            int n = Math.Min(data.Length, _tail.Length - _tailLength);
            data[..n].CopyTo(_tail.AsSpan(_tailLength));
            _tailLength += n;
            Count += n;
            data = data[n..];
        }
        return null;
    }

    public int Read(Span<byte> destination, StreamScope? scope)
    {
        int total = 0;
        while (!destination.IsEmpty && Count > 0)
        {
            byte[] head = _segments!.Peek();
            int end = ReferenceEquals(head, _tail) ? _tailLength : head.Length;
            int n = Math.Min(destination.Length, end - _headOffset);
            head.AsSpan(_headOffset, n).CopyTo(destination);
            destination = destination[n..];
            _headOffset += n;
            Count -= n;
            total += n;
            if (_headOffset == end)
            {
                _segments.Dequeue();
                if (ReferenceEquals(head, _tail))
                    _tail = null;
                _headOffset = 0;
                ArrayPool<byte>.Shared.Return(head);
                scope?.ReleaseMemory(head.Length);
            }
        }
        return total;
    }

    /// <summary>Drops everything buffered and returns the segments; the count of bytes dropped.</summary>
    public int Clear(StreamScope? scope)
    {
        int dropped = Count;
        if (_segments is not null)
        {
            while (_segments.TryDequeue(out byte[]? segment))
            {
                ArrayPool<byte>.Shared.Return(segment);
                scope?.ReleaseMemory(segment.Length);
            }
        }
        _tail = null;
        _headOffset = 0;
        _tailLength = 0;
        Count = 0;
        return dropped;
    }
}
