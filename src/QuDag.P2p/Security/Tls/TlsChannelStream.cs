using System.Net.Security;
using System.Security.Authentication;

namespace QuDag.P2p.Security.Tls;

/// <summary>
/// The plaintext side of a libp2p TLS connection: an <see cref="SslStream"/> whose failures are sorted by
/// cause. When TLS itself fails (a record that does not authenticate, an alert) while the connection below
/// is fine, the remote broke the protocol: that is a <see cref="P2pProtocolException"/> and the stream closes.
/// Failures of the connection below pass through as they are.
/// </summary>
internal sealed class TlsChannelStream(SslStream ssl, TransportMonitorStream transport) : Stream
{
    public SslStream Ssl => ssl;

    public override bool CanRead => ssl.CanRead;
    public override bool CanWrite => ssl.CanWrite;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        try { return ssl.Read(buffer); }
        catch (Exception ex) when (IsProtocolFailure(ex)) { throw Broken(ex); }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try { return await ssl.ReadAsync(buffer, cancellationToken).ConfigureAwait(false); }
        catch (Exception ex) when (IsProtocolFailure(ex)) { throw Broken(ex); }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try { ssl.Write(buffer); }
        catch (Exception ex) when (IsProtocolFailure(ex)) { throw Broken(ex); }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try { await ssl.WriteAsync(buffer, cancellationToken).ConfigureAwait(false); }
        catch (Exception ex) when (IsProtocolFailure(ex)) { throw Broken(ex); }
    }

    public override void Flush() => ssl.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => ssl.FlushAsync(cancellationToken);

    private bool IsProtocolFailure(Exception ex) => ex is AuthenticationException or IOException && !transport.HasFailed;

    private P2pProtocolException Broken(Exception ex)
    {
        ssl.Dispose();
        return new P2pProtocolException("The TLS connection failed: the remote sent data that does not authenticate.", ex);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) ssl.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await ssl.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }
}
