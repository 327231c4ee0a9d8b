using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace QuDag.P2p.Transport.Tcp;

/// <summary>
/// The byte stream of a TCP connection: a <see cref="NetworkStream"/> that owns its socket and whose zero-byte reads
/// complete only when bytes, the end of the stream or an error are really there.
/// </summary>
/// <remarks>
/// Every layer above waits for data with a zero-byte read so that an idle connection holds no buffer (NoiseStream,
/// SslStream, the yamux frame reader), then rents its buffer and reads. On Linux a pending zero-byte receive completes
/// at the socket's next readiness event without looking (SocketAsyncContext completes it "because the caller is
/// interested in the event"), and with edge-triggered epoll an event can arrive for bytes an earlier read has already
/// taken. A bare NetworkStream then wakes the reader with nothing to read, and the layer above parks a real read on its
/// freshly rented buffer: about half the idle connections of a benchmark held Noise's 128 KiB that way. Here a wake-up
/// is checked with a zero-timeout poll and, when nothing is there, the wait starts over.
/// </remarks>
internal sealed class TcpStream(Socket socket) : NetworkStream(socket, ownsSocket: true)
{
    private volatile bool _disposed;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        => buffer.IsEmpty ? WaitForDataAsync(cancellationToken) : base.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => count == 0 ? WaitForDataAsync(cancellationToken).AsTask() : base.ReadAsync(buffer, offset, count, cancellationToken);

    // Pooled: a connection spends its idle life in here, and wakes often when busy.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> WaitForDataAsync(CancellationToken cancellationToken)
    {
        while (!IsReadable())
        {
            await base.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            // A local close sometimes completes the pending receive without an error (5 in 1,000 here; a bare
            // NetworkStream's too) and the poll may then still see a socket in mid-close: fail as every read of a
            // closed stream does, rather than wake the reader for nothing.
            ObjectDisposedException.ThrowIf(_disposed, this);
        }
        return 0;
    }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        base.Dispose(disposing);
    }

    /// <summary>True when a read would not wait: bytes are buffered, or the connection ended or failed. A closed
    /// stream throws <see cref="ObjectDisposedException"/>, as every read of a NetworkStream does.</summary>
    private bool IsReadable()
    {
        try
        {
            return Socket.Poll(0, SelectMode.SelectRead);
        }
        catch (SocketException)
        {
            return true; // the read that follows reports it, as an IOException
        }
    }
}
