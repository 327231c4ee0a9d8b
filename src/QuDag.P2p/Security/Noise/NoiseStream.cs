using System.Buffers;
using System.Buffers.Binary;

namespace QuDag.P2p.Security.Noise;

/// <summary>
/// The Noise transport: every message is a 2-byte big-endian length and at most 65535 bytes of ciphertext
/// including the 16-byte tag. Writes of any size are cut into frames and encrypted into one pooled buffer
/// per underlying write (up to <see cref="MaxBatchPlaintext"/> bytes of plaintext each), so a muxer's big
/// batches cost one write, not one per frame. Reads pull as many bytes as arrive and decrypt frame by frame,
/// straight into the caller's buffer when it is big enough; a muxer reads through <see cref="IBufferedReadStream"/>
/// instead, which decrypts each frame in place and lends its plaintext, so no buffer of the muxer's holds it too.
/// The read buffer is rented by need (a small one for small frames, a large one once a large frame arrives) and
/// given back whenever it is drained. Reading and writing are independent; each side allows one operation at a
/// time. A frame that fails authentication closes the stream.
/// </summary>
internal sealed class NoiseStream : Stream, IBufferedReadStream
{
    public const int MaxFrameLength = ushort.MaxValue;
    public const int MaxFramePlaintext = MaxFrameLength - NoiseCipherState.TagSize;
    public const int MaxBatchPlaintext = 16 * MaxFramePlaintext;
    private const int FrameOverhead = 2 + NoiseCipherState.TagSize;
    // A frame up to this size (a ping, window updates, a request) is read into a buffer of this size; a larger one
    // into ReadBufferSize, which then takes the next frames in the same receive too (bulk).
    private const int SmallReadBufferSize = 1024;
    private const int ReadBufferSize = 128 * 1024;
    private const int Idle = 0, Busy = 1, Closed = 2;

    private readonly Stream _inner;
    private readonly NoiseCipherState _send;
    private readonly NoiseCipherState _receive;

    private byte[]? _readBuffer;
    private int _rawStart, _rawEnd;     // received bytes not yet decrypted
    private int _plainStart, _plainEnd; // decrypted bytes not yet handed out (inside _readBuffer)
    private int _readState, _writeState;
    private bool _lending;              // ReadBufferedAsync lent plaintext that Consume has not taken yet (read side Busy)
    private bool _writeFaulted;
    private volatile bool _disposed;

    public NoiseStream(Stream inner, NoiseCipherState send, NoiseCipherState receive)
    {
        _inner = inner;
        _send = send;
        _receive = receive;
    }

    public override bool CanRead => !_disposed;
    public override bool CanWrite => !_disposed;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    // ---- reading ----

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        EnterRead();
        try
        {
            while (true)
            {
                int n = TryProduce(buffer);
                if (n > 0) return n;
                if (n < 0) continue;
                var raw = PrepareFill();
                int read = _inner.Read(raw);
                if (!Filled(read)) return 0;
            }
        }
        catch (P2pProtocolException) { Fault(); throw; }
        finally { ExitRead(); }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>
    /// Reads plaintext. A zero-byte read waits, as SslStream's and NetworkStream's do, without taking anything:
    /// until plaintext is ready, or, when nothing at all is buffered, until the connection has bytes (the next
    /// frame has begun to arrive) or has ended. Then the read that follows waits for the rest of the frame.
    /// </summary>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // The wait of an idle connection goes straight to the connection: no buffer (returned when drained) and no
        // state machine of ours is held for as long as the connection stays idle.
        if (buffer.IsEmpty && _readBuffer is null && Volatile.Read(ref _readState) == Idle && !_disposed)
            return _inner.ReadAsync(Memory<byte>.Empty, cancellationToken);
        return ReadCoreAsync(buffer, cancellationToken);
    }

    private async ValueTask<int> ReadCoreAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        EnterRead();
        try
        {
            while (true)
            {
                if (buffer.IsEmpty && _plainEnd > _plainStart) return 0;
                int n = TryProduce(buffer.Span);
                if (n > 0) return n;
                if (n < 0) continue;
                if (_readBuffer is null)
                {
                    // Nothing is buffered: wait for data with a zero-byte read before renting a buffer,
                    // so a connection with a read pending and nothing arriving holds none.
                    await _inner.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                }
                int read = await _inner.ReadAsync(PrepareFillMemory(), cancellationToken).ConfigureAwait(false);
                if (!Filled(read)) return 0;
            }
        }
        catch (P2pProtocolException) { Fault(); throw; }
        finally { ExitRead(); }
    }

    // ---- lending (IBufferedReadStream): what the muxer reads through ----

    bool IBufferedReadStream.HasBuffered => _plainEnd > _plainStart || _rawEnd > _rawStart;

    ValueTask<int> IBufferedReadStream.WaitAsync(CancellationToken cancellationToken)
        => _plainEnd > _plainStart || _rawEnd > _rawStart ? new ValueTask<int>(0) : ReadAsync(Memory<byte>.Empty, cancellationToken);

    ValueTask<ReadOnlyMemory<byte>> IBufferedReadStream.ReadBufferedAsync(CancellationToken cancellationToken)
    {
        if (_lending && _plainEnd > _plainStart)
            return new ValueTask<ReadOnlyMemory<byte>>(_readBuffer.AsMemory(_plainStart, _plainEnd - _plainStart));
        return ReadBufferedCoreAsync(cancellationToken);
    }

    void IBufferedReadStream.Consume(int count)
    {
        if (count == 0)
            return;
        if (!_lending || (uint)count > (uint)(_plainEnd - _plainStart))
            throw new InvalidOperationException($"Consume({count}) is more than the {(_lending ? _plainEnd - _plainStart : 0)} bytes lent.");
        _plainStart += count;
        if (_plainStart == _plainEnd)
            StopLending();
    }

    /// <summary>The read side stays busy while plaintext is lent (a dispose meanwhile leaves the buffer to the last
    /// Consume), and is given back, with the buffer when nothing else is held, once it is all taken.</summary>
    private void StopLending()
    {
        _lending = false;
        ExitRead();
    }

    private async ValueTask<ReadOnlyMemory<byte>> ReadBufferedCoreAsync(CancellationToken cancellationToken)
    {
        if (!_lending)
        {
            EnterRead();
            _lending = true;
        }
        try
        {
            while (true)
            {
                if (_plainEnd > _plainStart)
                    return _readBuffer.AsMemory(_plainStart, _plainEnd - _plainStart);
                if (TryDecryptInPlace())
                    continue;
                if (_rawEnd == _rawStart)
                {
                    // Between frames with nothing buffered: wait holding neither the buffer nor the read side.
                    StopLending();
                    await _inner.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                    EnterRead();
                    _lending = true;
                }
                int read = await _inner.ReadAsync(PrepareFillMemory(), cancellationToken).ConfigureAwait(false);
                if (!Filled(read))
                {
                    StopLending();
                    return ReadOnlyMemory<byte>.Empty;
                }
            }
        }
        catch (Exception e)
        {
            if (_lending)
                StopLending();
            if (e is P2pProtocolException)
                Fault();
            throw;
        }
    }

    /// <summary>Decrypts the next whole frame where it lies; false when more ciphertext is needed.</summary>
    private bool TryDecryptInPlace()
    {
        if (!TryTakeFrame(out int frameStart, out int length))
            return false;
        var ciphertext = _readBuffer.AsSpan(frameStart, length);
        Decrypt(ciphertext, ciphertext);
        _plainStart = frameStart;
        _plainEnd = frameStart + length - NoiseCipherState.TagSize;
        return true;
    }

    /// <summary>Takes the next whole frame off the received bytes: where its ciphertext starts and how long it is.</summary>
    private bool TryTakeFrame(out int ciphertextStart, out int length)
    {
        ciphertextStart = length = 0;
        int available = _rawEnd - _rawStart;
        if (available < 2) return false;
        length = BinaryPrimitives.ReadUInt16BigEndian(_readBuffer.AsSpan(_rawStart));
        if (length < NoiseCipherState.TagSize)
            throw new P2pProtocolException($"A Noise frame of {length} bytes is shorter than its authentication tag.");
        if (available < 2 + length) return false;
        ciphertextStart = _rawStart + 2;
        _rawStart += 2 + length;
        return true;
    }

    /// <summary>
    /// Hands out decrypted bytes: a count &gt; 0 when some were copied, -1 when a frame was decrypted into
    /// the buffer (or was empty) so the caller should look again, 0 when more ciphertext is needed.
    /// </summary>
    private int TryProduce(Span<byte> destination)
    {
        if (_plainEnd > _plainStart && !destination.IsEmpty)
        {
            int n = Math.Min(destination.Length, _plainEnd - _plainStart);
            _readBuffer.AsSpan(_plainStart, n).CopyTo(destination);
            _plainStart += n;
            return n;
        }
        if (!TryTakeFrame(out int frameStart, out int length))
            return 0;
        var ciphertext = _readBuffer.AsSpan(frameStart, length);
        int plainLength = length - NoiseCipherState.TagSize;
        if (destination.Length >= plainLength && plainLength > 0)
        {
            Decrypt(ciphertext, destination);
            return plainLength;
        }
        Decrypt(ciphertext, ciphertext);
        _plainStart = frameStart;
        _plainEnd = frameStart + plainLength;
        return -1;
    }

    private void Decrypt(ReadOnlySpan<byte> ciphertext, Span<byte> destination)
    {
        if (!_receive.TryDecrypt(default, ciphertext, destination))
            throw new P2pProtocolException("A Noise transport frame failed authentication; the connection is closed.");
    }

    private Span<byte> PrepareFill() => PrepareFillMemory().Span;

    /// <summary>Room for the next receive (only called with no plaintext pending): the buffer rented, or grown when
    /// the frame being assembled needs more than the small one, with the unread ciphertext moved to its front.</summary>
    private Memory<byte> PrepareFillMemory()
    {
        int pending = _rawEnd - _rawStart;
        int frame = pending >= 2 ? 2 + BinaryPrimitives.ReadUInt16BigEndian(_readBuffer.AsSpan(_rawStart)) : 0;
        int size = frame > SmallReadBufferSize ? ReadBufferSize : SmallReadBufferSize;
        if (_readBuffer is null)
        {
            _readBuffer = ArrayPool<byte>.Shared.Rent(size);
        }
        else if (_readBuffer.Length < size)
        {
            byte[] larger = ArrayPool<byte>.Shared.Rent(size);
            _readBuffer.AsSpan(_rawStart, pending).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_readBuffer);
            _readBuffer = larger;
            _rawStart = 0;
            _rawEnd = pending;
        }
        if (_rawStart > 0)
        {
            _readBuffer.AsSpan(_rawStart, pending).CopyTo(_readBuffer);
            _rawStart = 0;
            _rawEnd = pending;
        }
        _plainStart = _plainEnd = 0;
        return _readBuffer.AsMemory(_rawEnd);
    }

    /// <summary>Accounts for <paramref name="read"/> new bytes; false at a clean end of stream.</summary>
    private bool Filled(int read)
    {
        if (read > 0)
        {
            _rawEnd += read;
            return true;
        }
        if (_rawEnd > _rawStart)
            throw new P2pProtocolException("The connection closed in the middle of a Noise frame.");
        return false;
    }

    private void EnterRead()
    {
        int state = Interlocked.CompareExchange(ref _readState, Busy, Idle);
        if (state == Busy) throw new InvalidOperationException("A read is already in progress on this Noise stream.");
        if (state == Closed || _disposed)
        {
            if (state == Idle) ExitRead(); // hand the read side back so the buffer is released
            throw new ObjectDisposedException(nameof(NoiseStream));
        }
    }

    private void ExitRead()
    {
        // Give the pooled buffer back when nothing is buffered, so an idle connection holds none.
        if (_rawStart == _rawEnd && _plainStart == _plainEnd && _readBuffer is { } idle)
        {
            _readBuffer = null;
            _rawStart = _rawEnd = _plainStart = _plainEnd = 0;
            ArrayPool<byte>.Shared.Return(idle);
        }
        Volatile.Write(ref _readState, Idle);
        if (_disposed) ReleaseReadBuffer();
    }

    private void ReleaseReadBuffer()
    {
        // Whoever moves the read side from idle to closed owns the buffer; a running read never loses it.
        if (Interlocked.CompareExchange(ref _readState, Closed, Idle) == Idle && _readBuffer is { } buffer)
        {
            _readBuffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // A forged or broken frame ends the connection: nothing after it can be trusted.
    private void Fault() => Dispose();

    // ---- writing ----

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        EnterWrite();
        try
        {
            while (!buffer.IsEmpty)
            {
                int chunk = Math.Min(buffer.Length, MaxBatchPlaintext);
                byte[] batch = ArrayPool<byte>.Shared.Rent(SealedLength(chunk));
                try
                {
                    int length = Seal(buffer[..chunk], batch);
                    _inner.Write(batch, 0, length);
                }
                finally { ArrayPool<byte>.Shared.Return(batch); }
                buffer = buffer[chunk..];
            }
        }
        catch { _writeFaulted = true; throw; }
        finally { Volatile.Write(ref _writeState, Idle); }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnterWrite();
        try
        {
            while (!buffer.IsEmpty)
            {
                int chunk = Math.Min(buffer.Length, MaxBatchPlaintext);
                byte[] batch = ArrayPool<byte>.Shared.Rent(SealedLength(chunk));
                try
                {
                    int length = Seal(buffer.Span[..chunk], batch);
                    await _inner.WriteAsync(batch.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                }
                finally { ArrayPool<byte>.Shared.Return(batch); }
                buffer = buffer[chunk..];
            }
        }
        catch
        {
            // Frames were sealed with nonces the remote may never see: nothing written after this can be read.
            _writeFaulted = true;
            throw;
        }
        finally { Volatile.Write(ref _writeState, Idle); }
    }

    internal static int SealedLength(int plaintextLength)
    {
        int frames = (plaintextLength + MaxFramePlaintext - 1) / MaxFramePlaintext;
        return plaintextLength + frames * FrameOverhead;
    }

    /// <summary>Encrypts <paramref name="plaintext"/> as consecutive frames into <paramref name="destination"/>.</summary>
    private int Seal(ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        int position = 0;
        while (!plaintext.IsEmpty)
        {
            int n = Math.Min(plaintext.Length, MaxFramePlaintext);
            BinaryPrimitives.WriteUInt16BigEndian(destination[position..], (ushort)(n + NoiseCipherState.TagSize));
            _send.Encrypt(default, plaintext[..n], destination.Slice(position + 2, n + NoiseCipherState.TagSize));
            position += n + FrameOverhead;
            plaintext = plaintext[n..];
        }
        return position;
    }

    private void EnterWrite()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.CompareExchange(ref _writeState, Busy, Idle) != Idle)
            throw new InvalidOperationException("A write is already in progress on this Noise stream; the caller must serialise writes.");
        if (_writeFaulted)
        {
            Volatile.Write(ref _writeState, Idle);
            throw new IOException("An earlier write on this Noise stream failed; the stream cannot be written any more.");
        }
    }

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    // ---- closing ----

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _inner.Dispose();
            ReleaseReadBuffer();
            _send.Dispose();
            _receive.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            await _inner.DisposeAsync().ConfigureAwait(false);
            ReleaseReadBuffer();
            _send.Dispose();
            _receive.Dispose();
        }
        GC.SuppressFinalize(this);
    }
}
