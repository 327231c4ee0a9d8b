using System.Net.Sockets;
using QuDag.P2p;
using QuDag.P2p.Muxing;
using QuDag.P2p.Transport.Tcp;

namespace QuDag.Network.Discovery;

/// <summary>How a failure maps to a <see cref="CrawlError"/> class: the same exception means another thing in a dial than in a request.</summary>
internal static class CrawlErrors
{
    public static CrawlError OfDial(Exception error) => error switch
    {
        PeerIdMismatchException => CrawlError.IdentityMismatch,
        DialFailedException { SocketError: SocketError.ConnectionRefused } => CrawlError.Refused,
        DialFailedException { SocketError: SocketError.TimedOut } => CrawlError.Timeout,
        DialFailedException or AddressResolutionException => CrawlError.Unreachable,
        TransportNotSupportedException => CrawlError.NoDialableAddress,
        _ when HasTimeout(error) => CrawlError.Timeout,
        ProtocolNotSupportedException or P2pProtocolException => CrawlError.HandshakeFailed,
        IOException or SocketException or MuxerClosedException => CrawlError.Closed,
        _ => CrawlError.Other,
    };

    public static CrawlError OfRequest(Exception error) => error switch
    {
        _ when HasTimeout(error) => CrawlError.Timeout,
        P2pProtocolException or ProtocolNotSupportedException or FormatException or InvalidDataException => CrawlError.ProtocolError,
        IOException or SocketException or MuxerClosedException or ObjectDisposedException => CrawlError.Closed,
        _ => CrawlError.Other,
    };

    /// <summary>Our own deadline cancels (OperationCanceledException); the stack's own throw TimeoutException, sometimes wrapped.</summary>
    private static bool HasTimeout(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is TimeoutException or OperationCanceledException)
                return true;
        }
        return false;
    }
}
