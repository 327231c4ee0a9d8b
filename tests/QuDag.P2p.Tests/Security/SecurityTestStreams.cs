using System.Net;
using System.Net.Sockets;
using QuDag.P2p.Tests.Support;

namespace QuDag.P2p.Tests.Security;

/// <summary>A pass-through stream that remembers whether it was disposed and counts writes.</summary>
internal sealed class TrackingStream(Stream inner) : Stream
{
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsDisposed => _disposed.Task.IsCompleted;
    public Task Disposed => _disposed.Task;
    public int Writes;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
    public override void Write(byte[] buffer, int offset, int count) { Interlocked.Increment(ref Writes); inner.Write(buffer, offset, count); }
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Writes);
        return inner.WriteAsync(buffer, cancellationToken);
    }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            _disposed.TrySetResult();
        }
        base.Dispose(disposing);
    }
}

/// <summary>
/// Two in-memory connections joined by a relay that can flip one byte of the next chunk it forwards from
/// the dialer to the listener, as an on-path attacker would.
/// </summary>
internal sealed class TamperingRelay : IAsyncDisposable
{
    private readonly Stream _dialerFar, _listenerFar;
    private readonly Task _up, _down;
    private volatile bool _tamperNext;

    public TamperingRelay()
    {
        (Dialer, _dialerFar) = Duplex.CreatePair();
        (Listener, _listenerFar) = Duplex.CreatePair();
        _up = PumpAsync(_dialerFar, _listenerFar, tamper: true);
        _down = PumpAsync(_listenerFar, _dialerFar, tamper: false);
    }

    public Stream Dialer { get; }
    public Stream Listener { get; }

    /// <summary>Flips a bit in the middle of the next chunk the dialer sends.</summary>
    public void TamperWithNextChunk() => _tamperNext = true;

    private async Task PumpAsync(Stream from, Stream to, bool tamper)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer)) > 0)
            {
                if (tamper && _tamperNext)
                {
                    _tamperNext = false;
                    buffer[n / 2] ^= 0x40;
                }
                await to.WriteAsync(buffer.AsMemory(0, n));
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException) { }
        finally { to.Dispose(); }
    }

    public async ValueTask DisposeAsync()
    {
        _dialerFar.Dispose();
        _listenerFar.Dispose();
        await Task.WhenAll(_up, _down).WaitAsync(TimeSpan.FromSeconds(5));
    }
}

/// <summary>A connected pair of loopback TCP streams.</summary>
internal static class TcpPair
{
    public static async Task<(Stream Dialer, Stream Listener)> CreateAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = listener.AcceptSocketAsync();
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        var server = await accept.WaitAsync(TimeSpan.FromSeconds(5));
        server.NoDelay = true;
        return (new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
    }
}
