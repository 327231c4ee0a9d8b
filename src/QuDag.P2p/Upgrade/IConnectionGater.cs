using System.Net;
using QuDag.P2p.Identity;

namespace QuDag.P2p.Upgrade;

/// <summary>
/// Decides at each stage of a connection's life whether it may go on, as go-libp2p's ConnectionGater:
/// before a dial (peer, then address), when a socket is accepted, and once the remote proved who it is.
/// Each answer is cheap and synchronous; false stops the connection before the next byte is spent on it.
/// </summary>
public interface IConnectionGater
{
    /// <summary>May we dial <paramref name="peer"/> at all?</summary>
    bool InterceptPeerDial(PeerId peer) => true;

    /// <summary>May we dial <paramref name="peer"/> (if known) at <paramref name="address"/>?</summary>
    bool InterceptAddrDial(PeerId? peer, EndPoint address) => true;

    /// <summary>May an inbound socket from <paramref name="remote"/> be upgraded?</summary>
    bool InterceptAccept(EndPoint local, EndPoint remote) => true;

    /// <summary>May a connection whose remote proved to be <paramref name="peer"/> go on to muxing?</summary>
    bool InterceptSecured(Direction direction, PeerId peer, EndPoint remote) => true;
}

/// <summary>The gater that allows everything.</summary>
public sealed class AllowAllGater : IConnectionGater
{
    public static AllowAllGater Instance { get; } = new();
}
