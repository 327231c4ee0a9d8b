using System.Text;
using QuDag.Network;

namespace QuDag.PowerShell;

// Output objects are made for pipes: ids and addresses as full strings, statuses as names, durations as *Ms
// numbers. What ConvertTo-Json, Export-Csv or Export-Clixml writes reads back into Connect-QuDagPeer (PeerId,
// Endpoint by property name), and no core type leaks into a cmdlet's signature (the core lives in the module's
// own load context).

/// <summary>A peer the session knows, as Get-QuDagPeer and Connect-QuDagPeer -PassThru write it.</summary>
public sealed class QuDagPeer
{
    internal QuDagPeer(PeerInfo info)
    {
        PeerId = PeerIdArgument.Format(info.PeerId);
        ShortId = info.PeerId.ToShortString();
        Status = info.Status?.ToString() ?? "Known";
        Endpoint = AddressArgument.Format(info.Endpoint);
        LastError = info.LastError;
        Pooled = info.Pooled;
        Inbound = info.Inbound;
        LatencyMs = Ms(info.Latency);
        HandshakeMs = Ms(info.HandshakeTime);
        IdleMs = Ms(info.IdleTime);
        LastChange = info.LastChange;
        Circuit = info.CircuitState.ToString();
        ConsecutiveFailures = info.ConsecutiveFailures;
        CircuitOpenUntil = info.CircuitOpenUntil;
        AutoReconnect = info.AutoReconnect;
        Reconnecting = info.Reconnecting;
        ReconnectFailures = info.ReconnectFailures;
        ReconnectDelayMs = Ms(info.ReconnectDelay);
        Address = AddressArgument.FormatMultiaddr(info.Endpoint, info.PeerId);
        Security = info.Security;
        Muxer = info.Muxer;
        AgentVersion = info.AgentVersion;
        ProtocolVersion = info.ProtocolVersion;
        Protocols = [.. info.Protocols];
        Addresses = [.. info.ListenAddresses.Select(a => a.WithPeerId(info.PeerId).ToString())];
        ObservedAddress = info.ObservedAddress?.ToString();
        ProtectionTags = [.. info.ProtectionTags];
        Tags = [.. info.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}")];
        Value = info.Value;
        CloseReason = info.CloseReason?.ToString();
        CloseScope = info.CloseScope;
        ClosedAt = info.ClosedAt;
    }

    /// <summary>True while a tag protects the peer from trims (Protect-QuDagPeer).</summary>
    public bool Protected => ProtectionTags.Length > 0;

    /// <summary>The tags that protect the peer from trims.</summary>
    public string[] ProtectionTags { get; }

    /// <summary>The peer's tags as name=weight (Set-QuDagPeerTag), decaying ones as they stand now.</summary>
    public string[] Tags { get; }

    /// <summary>The sum of the peer's tag weights: trims close the lowest values first.</summary>
    public long Value { get; }

    /// <summary>Why the peer's last connection ended: Trimmed, Limit, IdleExpired, KeepAliveFailed, RemoteClosed,
    /// RemoteReset, ProtocolError, Gated, IdentityMismatch, LocalDisconnect or Shutdown.</summary>
    public string? CloseReason { get; }

    /// <summary>For a Limit close: the scope whose limit it was (system, transient, peer ..., subnet ...).</summary>
    public string? CloseScope { get; }

    /// <summary>When the last connection ended.</summary>
    public DateTimeOffset? ClosedAt { get; }

    /// <summary>Where the peer is, as a multiaddr ending in /p2p/&lt;id&gt;: what Connect-QuDagPeer -Address takes.</summary>
    public string? Address { get; }

    /// <summary>The security protocol of the live or pooled connection: /noise or /tls/1.0.0.</summary>
    public string? Security { get; }

    /// <summary>The stream muxer of the live or pooled connection: /yamux/1.0.0.</summary>
    public string? Muxer { get; }

    /// <summary>The peer's software, as its identify said (rust-libp2p/..., qudag-ps/...).</summary>
    public string? AgentVersion { get; }

    /// <summary>The peer's network protocol, as its identify said (/qudag/1.0.0 for QuDAG).</summary>
    public string? ProtocolVersion { get; }

    /// <summary>The protocols the peer serves, as its identify said.</summary>
    public string[] Protocols { get; }

    /// <summary>The addresses the peer listens on, as its identify said, each ending in /p2p/&lt;id&gt;.</summary>
    public string[] Addresses { get; }

    /// <summary>Our address as the peer sees it.</summary>
    public string? ObservedAddress { get; }

    /// <summary>The full peer id.</summary>
    public string PeerId { get; }

    /// <summary>The short form tables show (12*Wn8fj, as go-libp2p); -PeerId accepts it when it is unambiguous.</summary>
    public string ShortId { get; }

    /// <summary>Connected, Connecting, Disconnected, Failed, or Known (an address book entry never dialed).</summary>
    public string Status { get; }

    /// <summary>Where the peer is (host:port).</summary>
    public string? Endpoint { get; }

    /// <summary>Why the last connect or connection failed.</summary>
    public string? LastError { get; }

    /// <summary>True while its connection waits in the idle pool.</summary>
    public bool Pooled { get; }

    /// <summary>True when the peer dialed us.</summary>
    public bool? Inbound { get; }

    /// <summary>The last measured round trip, in milliseconds.</summary>
    public double? LatencyMs { get; }

    /// <summary>How long the connection's handshake took, in milliseconds.</summary>
    public double? HandshakeMs { get; }

    /// <summary>How long a pooled connection has been idle, in milliseconds.</summary>
    public double? IdleMs { get; }

    /// <summary>When the status last changed.</summary>
    public DateTimeOffset? LastChange { get; }

    /// <summary>The circuit breaker: Closed, Open or HalfOpen.</summary>
    public string Circuit { get; }

    /// <summary>Failed dials in a row.</summary>
    public int ConsecutiveFailures { get; }

    /// <summary>Until when an open circuit fails connects fast.</summary>
    public DateTimeOffset? CircuitOpenUntil { get; }

    /// <summary>Whether a lost connection is redialed.</summary>
    public bool AutoReconnect { get; }

    /// <summary>True while a redial is pending.</summary>
    public bool Reconnecting { get; }

    /// <summary>Failed redials since the connection was lost.</summary>
    public int ReconnectFailures { get; }

    /// <summary>The wait before the next redial, in milliseconds.</summary>
    public double? ReconnectDelayMs { get; }

    internal static double? Ms(TimeSpan? span) => span is { } s ? Math.Round(s.TotalMilliseconds, 3) : null;

    /// <inheritdoc/>
    public override string ToString() => PeerId;
}

/// <summary>A listener started by Start-QuDagListener: where to reach this node, and as whom.</summary>
public sealed class QuDagListener
{
    internal QuDagListener(QuDagSession session, PeerListener listener)
    {
        Session = session;
        Listener = listener;
        PeerId = session.PeerId;
        Endpoint = AddressArgument.Format(listener.LocalEndPoint)!;
        Addresses = [.. listener.Addresses.Select(a => a.ToString())];
        Address = Addresses.Length > 0 ? Addresses[0] : AddressArgument.FormatMultiaddr(listener.LocalEndPoint, QuDag.P2p.Identity.PeerId.Parse(PeerId))!;
    }

    /// <summary>The node's peer id: what a dialer must expect.</summary>
    public string PeerId { get; }

    /// <summary>The multiaddr to dial, ending in /p2p/&lt;id&gt;: Connect-QuDagPeer -Address takes it as it is.</summary>
    public string Address { get; }

    /// <summary>Every multiaddr this listener is reached at (one per local address for a wildcard bind).</summary>
    public string[] Addresses { get; }

    /// <summary>The bound endpoint (host:port).</summary>
    public string Endpoint { get; }

    /// <summary>TCP connections accepted so far.</summary>
    public long AcceptedCount => Listener.AcceptedCount;

    /// <summary>True until stopped.</summary>
    public bool IsListening => Listener.IsListening;

    /// <summary>The session it accepts for.</summary>
    public QuDagSession Session { get; }

    internal PeerListener Listener { get; }

    /// <inheritdoc/>
    public override string ToString() => Address;
}

/// <summary>A message received by Receive-QuDagMessage.</summary>
public sealed class QuDagMessage
{
    internal QuDagMessage(PeerMessage message)
    {
        PeerId = PeerIdArgument.Format(message.PeerId);
        Bytes = message.Payload.ToArray();
        ReceivedAt = message.ReceivedAt;
    }

    /// <summary>The authenticated sender.</summary>
    public string PeerId { get; }

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
public sealed class QuDagPingResult
{
    /// <summary>The <see cref="Status"/> of an answered ping.</summary>
    public const string Success = "Success";

    /// <summary>The <see cref="Status"/> of a ping unanswered within Test-QuDagPeer -TimeoutSeconds.</summary>
    public const string TimedOutStatus = "TimedOut";

    // The peer's text comes formatted once per call: base58 costs more than the rest of a result.
    private QuDagPingResult(string peerId, int sequence, string status, double? latencyMs)
    {
        PeerId = peerId;
        Sequence = sequence;
        Status = status;
        LatencyMs = latencyMs;
    }

    internal static QuDagPingResult Answered(string peerId, int sequence, TimeSpan roundTrip) =>
        new(peerId, sequence, Success, Math.Round(roundTrip.TotalMilliseconds, 3));

    internal static QuDagPingResult TimedOut(string peerId, int sequence) => new(peerId, sequence, TimedOutStatus, null);

    /// <summary>The peer pinged.</summary>
    public string PeerId { get; }

    /// <summary>1 for the first ping of the call.</summary>
    public int Sequence { get; }

    /// <summary>Success, or TimedOut when no answer came within -TimeoutSeconds (as Test-Connection's Status).</summary>
    public string Status { get; }

    /// <summary>The PING/PONG round trip in milliseconds; null when the ping timed out.</summary>
    public double? LatencyMs { get; }
}

/// <summary>An idle pooled connection, as Get-QuDagPool writes it.</summary>
public sealed class QuDagPooledConnection
{
    internal QuDagPooledConnection(PooledConnectionInfo info)
    {
        PeerId = PeerIdArgument.Format(info.PeerId);
        Endpoint = AddressArgument.Format(info.EndPoint);
        Inbound = info.Inbound;
        IdleSince = info.IdleSince;
        IdleMs = Math.Round(info.IdleTime.TotalMilliseconds, 3);
        ExpiresInMs = Math.Round(info.ExpiresIn.TotalMilliseconds, 3);
    }

    /// <summary>The peer.</summary>
    public string PeerId { get; }

    /// <summary>The remote endpoint.</summary>
    public string? Endpoint { get; }

    /// <summary>True when the peer dialed us.</summary>
    public bool Inbound { get; }

    /// <summary>When it entered the pool.</summary>
    public DateTimeOffset IdleSince { get; }

    /// <summary>Idle time so far, in milliseconds.</summary>
    public double IdleMs { get; }

    /// <summary>Time left before the pool closes it, in milliseconds.</summary>
    public double ExpiresInMs { get; }
}

/// <summary>A peer's entry in the session's connection gater, written by Block- and Unblock-QuDagPeer -PassThru.</summary>
public sealed class QuDagGateRule
{
    internal QuDagGateRule(ConnectionGater gater, PeerId peer)
    {
        PeerId = PeerIdArgument.Format(peer);
        Denied = gater.Denied.TryGetValue(peer, out var denied) && denied != 0 ? denied.ToString() : "None";
        Allowed = gater.Allowed.TryGetValue(peer, out var allowed) && allowed != 0 ? allowed.ToString() : "None";
        InboundAllowed = gater.IsAllowed(peer, GateDirection.Inbound);
        OutboundAllowed = gater.IsAllowed(peer, GateDirection.Outbound);
    }

    /// <summary>The peer.</summary>
    public string PeerId { get; }

    /// <summary>Directions the peer is on the deny list for: None, Inbound, Outbound or Both.</summary>
    public string Denied { get; }

    /// <summary>Directions the peer is on the allow list for: None, Inbound, Outbound or Both.</summary>
    public string Allowed { get; }

    /// <summary>Whether the gater admits the peer inbound now.</summary>
    public bool InboundAllowed { get; }

    /// <summary>Whether the gater admits the peer outbound now.</summary>
    public bool OutboundAllowed { get; }
}

/// <summary>The session's metrics, as Get-QuDagMetrics writes them: counts, and durations in milliseconds.</summary>
public sealed class QuDagMetrics
{
    internal QuDagMetrics(NetworkMetrics m)
    {
        MessagesPerSecond = Math.Round(m.MessagesPerSecond, 3);
        Connections = m.Connections;
        OpenConnections = m.OpenConnections;
        MaxConnections = m.MaxConnections;
        IdleConnections = m.IdleConnections;
        TrackedPeers = m.TrackedPeers;
        AvgLatencyMs = Math.Round(m.AvgLatency.TotalMilliseconds, 3);
        LatencyP50Ms = Math.Round(m.LatencyP50.TotalMilliseconds, 3);
        LatencyP95Ms = Math.Round(m.LatencyP95.TotalMilliseconds, 3);
        LatencyP99Ms = Math.Round(m.LatencyP99.TotalMilliseconds, 3);
        AvgHandshakeMs = Math.Round(m.AvgHandshakeTime.TotalMilliseconds, 3);
        PingCount = m.PingCount;
        MessagesSent = m.MessagesSent;
        MessagesReceived = m.MessagesReceived;
        BytesSent = m.BytesSent;
        BytesReceived = m.BytesReceived;
        MemoryUsage = m.MemoryUsage;
        PoolHits = m.PoolHits;
        PoolMisses = m.PoolMisses;
        PoolExpirations = m.PoolExpirations;
        FailedConnects = m.FailedConnects;
        FailedInbound = m.FailedInbound;
        KeepAliveFailures = m.KeepAliveFailures;
        Reconnects = m.Reconnects;
        ReconnectAttempts = m.ReconnectAttempts;
        OpenCircuits = m.OpenCircuits;
        CircuitRejections = m.CircuitRejections;
        DeniedInbound = m.DeniedInbound;
        DeniedOutbound = m.DeniedOutbound;
        RateWindowMs = Math.Round(m.RateWindow.TotalMilliseconds, 3);
        long Closes(CloseReason reason) => m.ClosesByReason.GetValueOrDefault(reason);
        ClosesTrimmed = Closes(CloseReason.Trimmed);
        ClosesLimit = Closes(CloseReason.Limit);
        ClosesIdleExpired = Closes(CloseReason.IdleExpired);
        ClosesKeepAliveFailed = Closes(CloseReason.KeepAliveFailed);
        ClosesRemoteClosed = Closes(CloseReason.RemoteClosed);
        ClosesRemoteReset = Closes(CloseReason.RemoteReset);
        ClosesProtocolError = Closes(CloseReason.ProtocolError);
        ClosesGated = Closes(CloseReason.Gated);
        ClosesIdentityMismatch = Closes(CloseReason.IdentityMismatch);
        ClosesLocalDisconnect = Closes(CloseReason.LocalDisconnect);
        ClosesShutdown = Closes(CloseReason.Shutdown);
        BlockedReservations = m.BlockedByScope.Values.Sum();
    }

#pragma warning disable CS1591 // each name says what it counts; about_QuDag explains them
    public double MessagesPerSecond { get; }
    public int Connections { get; }
    public int OpenConnections { get; }
    public int MaxConnections { get; }
    public int IdleConnections { get; }
    public int TrackedPeers { get; }
    public double AvgLatencyMs { get; }
    public double LatencyP50Ms { get; }
    public double LatencyP95Ms { get; }
    public double LatencyP99Ms { get; }
    public double AvgHandshakeMs { get; }
    public long PingCount { get; }
    public long MessagesSent { get; }
    public long MessagesReceived { get; }
    public long BytesSent { get; }
    public long BytesReceived { get; }
    public long MemoryUsage { get; }
    public long PoolHits { get; }
    public long PoolMisses { get; }
    public long PoolExpirations { get; }
    public long FailedConnects { get; }
    public long FailedInbound { get; }
    public long KeepAliveFailures { get; }
    public long Reconnects { get; }
    public long ReconnectAttempts { get; }
    public int OpenCircuits { get; }
    public long CircuitRejections { get; }
    public long DeniedInbound { get; }
    public long DeniedOutbound { get; }
    public double RateWindowMs { get; }

    // Connections that ended, one counter per close reason (qudag.connection.closes{reason}).
    public long ClosesTrimmed { get; }
    public long ClosesLimit { get; }
    public long ClosesIdleExpired { get; }
    public long ClosesKeepAliveFailed { get; }
    public long ClosesRemoteClosed { get; }
    public long ClosesRemoteReset { get; }
    public long ClosesProtocolError { get; }
    public long ClosesGated { get; }
    public long ClosesIdentityMismatch { get; }
    public long ClosesLocalDisconnect { get; }
    public long ClosesShutdown { get; }

    // Reservations the resource scopes refused (Get-QuDagResourceUsage shows them per scope).
    public long BlockedReservations { get; }
#pragma warning restore CS1591
}
