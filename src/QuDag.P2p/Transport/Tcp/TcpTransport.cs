using System.Net;
using System.Net.Sockets;

namespace QuDag.P2p.Transport.Tcp;

/// <summary>
/// Dials TCP connections: an <see cref="IPEndPoint"/> directly, a <see cref="DnsEndPoint"/> by trying its
/// resolved addresses in order. Sockets come back with Nagle off (libp2p's handshakes and pings are small
/// writes that must not wait). A failed, timed-out or cancelled dial closes every socket it opened.
/// </summary>
public sealed class TcpTransport
{
    private readonly TimeProvider _timeProvider;

    /// <param name="timeProvider">The clock of the connect timeout; <see cref="TimeProvider.System"/> by default.</param>
    public TcpTransport(TimeProvider? timeProvider = null) => _timeProvider = timeProvider ?? TimeProvider.System;

    /// <summary>A transport on the system clock.</summary>
    public static TcpTransport Default { get; } = new();

    /// <summary>
    /// Connects to <paramref name="endPoint"/> within <paramref name="timeout"/> (name resolution included;
    /// <see cref="Timeout.InfiniteTimeSpan"/> for none). Throws <see cref="TimeoutException"/> naming the
    /// address when the time runs out, <see cref="AddressResolutionException"/> for a name that does not
    /// resolve, <see cref="DialFailedException"/> when every address refuses or fails, and
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task<Socket> DialAsync(EndPoint endPoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The connect timeout must be positive or infinite.");
        cancellationToken.ThrowIfCancellationRequested();

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // A timer of the injected clock rather than CancelAfter, which only knows the system clock. It may
        // fire while the source is being disposed, so the callback tolerates that.
        using var timer = timeout == Timeout.InfiniteTimeSpan ? null : _timeProvider.CreateTimer(
            static state =>
            {
                try { ((CancellationTokenSource)state!).Cancel(); }
                catch (ObjectDisposedException) { }
            },
            timeoutCts, timeout, Timeout.InfiniteTimeSpan);
        try
        {
            return endPoint switch
            {
                IPEndPoint ip => await ConnectAsync(ip, timeoutCts.Token).ConfigureAwait(false),
                DnsEndPoint dns => await DialNameAsync(dns, timeoutCts.Token).ConfigureAwait(false),
                _ => throw new ArgumentException($"Cannot dial a {endPoint.GetType().Name} over TCP: {endPoint}.", nameof(endPoint)),
            };
        }
        catch (OperationCanceledException ex) when (ex.CancellationToken != cancellationToken)
        {
            // Report the caller's token, not our linked one, as HttpClient does; or the timeout, if it was that.
            if (cancellationToken.IsCancellationRequested)
                throw new OperationCanceledException($"Dialing {endPoint} was cancelled.", ex, cancellationToken);
            throw new TimeoutException($"Dialing {endPoint} timed out after {timeout.TotalMilliseconds:0} ms.", ex);
        }
    }

    private static async Task<Socket> DialNameAsync(DnsEndPoint endPoint, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(endPoint.Host, endPoint.AddressFamily, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new AddressResolutionException(endPoint.Host, ex);
        }
        if (addresses.Length == 0)
            throw new AddressResolutionException(endPoint.Host);

        DialFailedException? last = null;
        foreach (var address in addresses)
        {
            try
            {
                return await ConnectAsync(new IPEndPoint(address, endPoint.Port), cancellationToken).ConfigureAwait(false);
            }
            catch (DialFailedException ex)
            {
                last = ex;
            }
        }
        throw last!;
    }

    private static async Task<Socket> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = true;
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new DialFailedException(endPoint, ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
