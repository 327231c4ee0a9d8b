using System.Net;
using System.Text;
using QuDag.Network;

namespace QuDag.PowerShell;

/// <summary>A listener started by Start-QuDagListener: where to reach this node, and as whom.</summary>
public sealed class QuDagListener
{
    internal QuDagListener(QuDagSession session, PeerListener listener)
    {
        Session = session;
        Listener = listener;
    }

    /// <summary>The node's peer id: what a dialer must expect.</summary>
    public PeerId PeerId => Session.PeerId;

    /// <summary>The bound endpoint.</summary>
    public IPEndPoint Endpoint => Listener.LocalEndPoint;

    /// <summary>TCP connections accepted so far.</summary>
    public long AcceptedCount => Listener.AcceptedCount;

    /// <summary>True until stopped.</summary>
    public bool IsListening => Listener.IsListening;

    /// <summary>The session it accepts for.</summary>
    public QuDagSession Session { get; }

    internal PeerListener Listener { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{PeerId} {Endpoint}";
}

/// <summary>A message received by Receive-QuDagMessage.</summary>
public sealed class QuDagMessage
{
    internal QuDagMessage(PeerMessage message)
    {
        PeerId = message.PeerId;
        Bytes = message.Payload.ToArray();
        ReceivedAt = message.ReceivedAt;
    }

    /// <summary>The authenticated sender.</summary>
    public PeerId PeerId { get; }

    /// <summary>The payload decoded as UTF-8.</summary>
    public string Text => Encoding.UTF8.GetString(Bytes);

    /// <summary>The payload.</summary>
    public byte[] Bytes { get; }

    /// <summary>Payload length in bytes.</summary>
    public int Length => Bytes.Length;

    /// <summary>When it arrived.</summary>
    public DateTimeOffset ReceivedAt { get; }

    /// <inheritdoc/>
    public override string ToString() => Text;
}

/// <summary>One ping round trip measured by Test-QuDagPeer.</summary>
/// <param name="PeerId">The peer pinged.</param>
/// <param name="Sequence">1 for the first ping of the call.</param>
/// <param name="RoundTrip">The measured PING/PONG round trip.</param>
public sealed record QuDagPingResult(PeerId PeerId, int Sequence, TimeSpan RoundTrip)
{
    /// <summary>The round trip in milliseconds.</summary>
    public double LatencyMs => RoundTrip.TotalMilliseconds;
}

/// <summary>A peer's entry in the session's connection gater, written by Block- and Unblock-QuDagPeer -PassThru.</summary>
public sealed class QuDagGateRule
{
    /// <summary>The peer.</summary>
    public PeerId PeerId { get; init; }

    /// <summary>Directions the peer is on the deny list for (none: 0).</summary>
    public GateDirection Denied { get; init; }

    /// <summary>Directions the peer is on the allow list for (none: 0).</summary>
    public GateDirection Allowed { get; init; }

    /// <summary>Whether the gater admits the peer inbound now.</summary>
    public bool InboundAllowed { get; init; }

    /// <summary>Whether the gater admits the peer outbound now.</summary>
    public bool OutboundAllowed { get; init; }

    internal static QuDagGateRule Of(ConnectionGater gater, PeerId peer) => new()
    {
        PeerId = peer,
        Denied = gater.Denied.TryGetValue(peer, out var denied) ? denied : 0,
        Allowed = gater.Allowed.TryGetValue(peer, out var allowed) ? allowed : 0,
        InboundAllowed = gater.IsAllowed(peer, GateDirection.Inbound),
        OutboundAllowed = gater.IsAllowed(peer, GateDirection.Outbound),
    };
}
