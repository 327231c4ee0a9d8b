namespace QuDag.P2p.Tests.Interop;

/// <summary>One js connection, as the connection events and the connections command describe it.</summary>
public sealed record JsConnectionInfo(
    string Id, string Peer, string Direction, string? Encryption, string? Multiplexer, string RemoteAddr, string Status, int Streams);
