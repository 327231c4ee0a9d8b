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

/// <summary>
/// A multistream-select round of an upgrade broke: the remote sent something that is not multistream-select, or
/// closed or reset the connection during it. In the first round (<see cref="Security"/> true) that means the remote
/// is not a libp2p node, or not one that speaks to us. A refusal of every protocol offered ("na") is a
/// <see cref="ProtocolNotSupportedException"/> instead.
/// </summary>
public sealed class UpgradeNegotiationException : P2pProtocolException
{
    public UpgradeNegotiationException(string message, bool security, Exception? inner) : base(message, inner) => Security = security;

    /// <summary>True for the round that picks the security protocol, false for the muxer's.</summary>
    public bool Security { get; }
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
