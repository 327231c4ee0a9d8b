using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace QuDag.P2p.Transport.Tcp;

/// <summary>
/// The byte stream of a TCP connection: a <see cref="NetworkStream"/> that owns its socket, waits for data in a small
/// resident buffer, and never leaves a caller's buffer pending on the socket.
/// </summary>
/// <remarks>
/// Every layer above waits for data with a zero-byte read so that an idle connection holds no large buffer (NoiseStream,
/// SslStream, the yamux frame reader), then rents its buffer and reads. On Linux a pending zero-byte receive completes at
/// the socket's next readiness event without looking, and with edge-triggered epoll an event can arrive for bytes an
/// earlier read has already taken; the layer above then parked a real read on its freshly rented buffer (about half the
/// idle connections of a benchmark held Noise's 128 KiB that way). A zero-timeout poll after each wake-up fixed that at
/// the price of three system calls per wake where bare TCP makes one (the zero-byte receive, the poll, the receive).
/// <para>
/// Here the wait is itself a real receive, into <see cref="ResidentSize"/> bytes this stream keeps for its whole life: it
/// completes only with bytes (or the end, or an error), and it takes a small message (a ping, a window update, a short
/// request) whole, so the reads that follow are served from memory with no system call. A read into a caller's buffer goes
/// to the socket only when <see cref="Socket.Available"/> says bytes are there (it then completes at once, holding the
/// buffer for no time), and otherwise waits in the resident buffer first. One receive per wake, as bare TCP.
/// </para>
/// </remarks>
internal sealed class TcpStream(Socket socket) : NetworkStream(socket, ownsSocket: true)
{
    /// <summary>Big enough for a ping (62 bytes with Noise and yamux framing) or a few control frames in one receive,
    /// small enough for the idle budget of a connection.</summary>
    internal const int ResidentSize = 256;

    private readonly byte[] _resident = new byte[ResidentSize];
    private int _start, _end;  // unread bytes of the resident buffer
    private volatile bool _disposed;

    /// <summary>Bytes waiting in the resident buffer or in the socket.</summary>
    public override bool DataAvailable => _end > _start || base.DataAvailable;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_end > _start && !_disposed)
            return new ValueTask<int>(TakeResident(buffer.Span));
        // A wait, or a read when nothing is known to be there: receive into the resident buffer first.
        if (buffer.IsEmpty || !HasBytesInSocket())
            return FillThenTakeAsync(buffer, cancellationToken);
        return base.ReadAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override IAsyncResult BeginRead(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state)
        => TaskToAsyncResult.Begin(ReadAsync(buffer, offset, count, CancellationToken.None), callback, state);

    public override int EndRead(IAsyncResult asyncResult) => TaskToAsyncResult.End<int>(asyncResult);

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        if (_end > _start && !_disposed)
            return TakeResident(buffer.AsSpan(offset, count));
        return base.Read(buffer, offset, count);
    }

    public override int Read(Span<byte> buffer)
    {
        if (_end > _start && !_disposed)
            return TakeResident(buffer);
        // NetworkStream reads a span through an array of its own (Stream's default), which would come back here.
        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            int n = base.Read(rented, 0, buffer.Length);
            rented.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    // Pooled: a connection spends its idle life in here, and wakes often when busy.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> FillThenTakeAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int read = await base.ReadAsync(_resident, cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            // A local close sometimes completes the pending receive without an error (5 in 1,000 here; a bare
            // NetworkStream's too): fail as every read of a closed stream does (main's rule), rather than report the
            // end of a stream the remote never ended. A shutdown (our own orderly close) is still the end: 0.
            ObjectDisposedException.ThrowIf(_disposed, this);
            return 0;
        }
        _start = 0;
        _end = read;
        return TakeResident(buffer.Span);
    }

    private int TakeResident(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, _end - _start);
        _resident.AsSpan(_start, n).CopyTo(destination);
        _start += n;
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        base.Dispose(disposing);
    }

    /// <summary>True when the socket holds bytes now (FIONREAD): a receive then completes at once. A closed stream
    /// throws <see cref="ObjectDisposedException"/>, as every read of a NetworkStream does.</summary>
    private bool HasBytesInSocket()
    {
        try
        {
            return Socket.Available > 0;
        }
        catch (SocketException)
        {
            return true; // the receive that follows reports it, as an IOException
        }
    }
}
