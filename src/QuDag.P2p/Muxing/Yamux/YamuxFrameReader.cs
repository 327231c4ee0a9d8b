using System.Buffers;

namespace QuDag.P2p.Muxing.Yamux;

/// <summary>
/// The inbound half of the connection: reads it in large chunks into one pooled buffer and hands out
/// headers and payload pieces from it, so a frame costs no allocation and no read of its own. A payload goes
/// straight from this buffer into the stream's buffer (one copy). Used by the session's reader loop only.
/// </summary>
internal sealed class YamuxFrameReader(Stream connection) : IDisposable
{
    private const int BufferSize = 64 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _start;
    private int _end;

    /// <summary>The next header; null on a clean end of the connection between frames.</summary>
    public async ValueTask<YamuxHeader?> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        if (!await FillAsync(YamuxHeader.Size, atFrameBoundary: true, cancellationToken).ConfigureAwait(false))
            return null;
        YamuxHeader header = YamuxHeader.Read(_buffer.AsSpan(_start, YamuxHeader.Size));
        _start += YamuxHeader.Size;
        return header;
    }

    /// <summary>Hands <paramref name="length"/> payload bytes to <paramref name="stream"/> piece by piece.</summary>
    public async ValueTask DeliverAsync(YamuxStream stream, int length, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            if (_end == _start)
                await FillAsync(1, atFrameBoundary: false, cancellationToken).ConfigureAwait(false);
            int n = Math.Min(length, _end - _start);
            stream.Deliver(_buffer.AsSpan(_start, n));
            _start += n;
            length -= n;
        }
    }

    /// <summary>Reads past a payload nobody may have (the caller has already capped its length).</summary>
    public async ValueTask SkipAsync(uint length, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            if (_end == _start)
                await FillAsync(1, atFrameBoundary: false, cancellationToken).ConfigureAwait(false);
            int n = (int)Math.Min(length, (uint)(_end - _start));
            _start += n;
            length -= (uint)n;
        }
    }

    /// <summary>Makes at least <paramref name="count"/> bytes available; false on a clean end between frames.
    /// An end inside a frame is a truncated frame: a protocol error.</summary>
    private async ValueTask<bool> FillAsync(int count, bool atFrameBoundary, CancellationToken cancellationToken)
    {
        if (_end - _start >= count)
            return true;
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (atFrameBoundary && _end == 0)
            await WaitForDataAsync(cancellationToken).ConfigureAwait(false);
        while (_end < count)
        {
            int read = await connection.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                if (atFrameBoundary && _end == 0)
                    return false;
                throw new P2pProtocolException("The connection ended inside a yamux frame.");
            }
            _end += read;
        }
        return true;
    }

    /// <summary>
    /// An idle connection waits here between frames without a buffer: the pooled one goes back, a zero-byte read
    /// waits for data (Noise, TLS and sockets support it, as SslStream does), and a buffer is rented again only when
    /// bytes are there. Otherwise every idle connection would pin 64 KiB here, and the security layer its own below.
    /// </summary>
    private async ValueTask WaitForDataAsync(CancellationToken cancellationToken)
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        try
        {
            await connection.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        }
    }

    /// <summary>Returns the buffer to the pool; only once the reader loop has ended.</summary>
    public void Dispose()
    {
        byte[] buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(buffer);
    }
}
