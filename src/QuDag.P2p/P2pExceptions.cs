namespace QuDag.P2p;

/// <summary>The base of every error the libp2p stack raises on its own account.</summary>
public class P2pException : Exception
{
    public P2pException(string message) : base(message) { }
    public P2pException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>
/// The remote broke a protocol: a malformed, oversized or out-of-order message. The connection or stream
/// it arrived on is closed; a hostile peer gets this, never a hang or an unbounded buffer.
/// </summary>
public class P2pProtocolException : P2pException
{
    public P2pProtocolException(string message) : base(message) { }
    public P2pProtocolException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The remote authenticated as a different peer than the one dialed.</summary>
public sealed class PeerIdMismatchException : P2pException
{
    public PeerIdMismatchException(Identity.PeerId expected, Identity.PeerId actual)
        : base($"Expected peer {expected} but the remote authenticated as {actual}.")
    {
        Expected = expected;
        Actual = actual;
    }

    public Identity.PeerId Expected { get; }
    public Identity.PeerId Actual { get; }
}

/// <summary>The remote does not speak any of the protocols offered (multistream-select answered "na").</summary>
public sealed class ProtocolNotSupportedException : P2pException
{
    public ProtocolNotSupportedException(IReadOnlyList<string> protocols)
        : base($"The remote supports none of: {string.Join(", ", protocols)}.")
        => Protocols = protocols;

    public IReadOnlyList<string> Protocols { get; }
}

/// <summary>A multiaddr names a transport this stack does not implement (udp, quic, ws, ...).</summary>
public sealed class TransportNotSupportedException : P2pException
{
    public TransportNotSupportedException(string message) : base(message) { }
}

/// <summary>A gater refused a dial, an inbound connection or a secured peer.</summary>
public sealed class ConnectionGatedException : P2pException
{
    public ConnectionGatedException(string message) : base(message) { }
}
