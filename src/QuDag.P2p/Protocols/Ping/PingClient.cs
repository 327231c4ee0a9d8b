using System.Security.Cryptography;

namespace QuDag.P2p.Protocols.Ping;

/// <summary>
/// The dialer's side of ping over one long-lived stream (already negotiated to <see cref="PingProtocol.Id"/>):
/// each <see cref="PingAsync"/> sends 32 random bytes and checks the echo byte for byte. Concurrent calls
/// take turns. A ping that fails or is cancelled midway leaves the stream out of step (an echo may still
/// be in flight), so the client then refuses further pings: open a new stream. Disposing it closes the stream.
/// </summary>
public sealed class PingClient : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly TimeProvider _timeProvider;
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly byte[] _sent = new byte[PingProtocol.PayloadSize];
    private readonly byte[] _echo = new byte[PingProtocol.PayloadSize];
    private bool _broken;
    private int _disposed;

    /// <param name="stream">A stream negotiated to ping; the client owns it from now on.</param>
    /// <param name="timeProvider">The clock round trips are measured with; <see cref="TimeProvider.System"/> by default.</param>
    public PingClient(Stream stream, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// Sends one ping and returns its round-trip time. Throws <see cref="P2pProtocolException"/> when the
    /// echo differs from what was sent or the stream ends before it arrives, and <see cref="P2pException"/>
    /// when an earlier ping on this client failed.
    /// </summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<TimeSpan> PingAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (_broken)
                throw new P2pException("An earlier ping on this stream failed or was cancelled, so the stream is out of step; open a new one.");
            _broken = true;

            RandomNumberGenerator.Fill(_sent);
            long start = _timeProvider.GetTimestamp();
            await _stream.WriteAsync(_sent, cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            // Read in this (pooled) method, not with ReadExactlyAsync: that is a state machine of its own per ping.
            for (int read = 0; read < _echo.Length;)
            {
                int n = await _stream.ReadAsync(_echo.AsMemory(read), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                    throw new P2pProtocolException("The remote closed the ping stream before echoing.");
                read += n;
            }
            TimeSpan rtt = _timeProvider.GetElapsedTime(start);
            if (!_sent.AsSpan().SequenceEqual(_echo))
                throw new P2pProtocolException("The ping echo differs from the payload sent.");

            _broken = false;
            return rtt;
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>Closes the stream; a ping in flight fails.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        // The semaphore is not disposed: a ping in flight still releases it, and it holds no OS handle
        // unless AvailableWaitHandle is touched, which it never is.
        await _stream.DisposeAsync().ConfigureAwait(false);
    }
}
