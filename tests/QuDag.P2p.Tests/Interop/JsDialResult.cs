namespace QuDag.P2p.Tests.Interop;

/// <summary>js's answer to dial: who answered and what was negotiated.</summary>
public sealed record JsDialResult(string RemotePeer, string? Encryption, string? Multiplexer, JsConnectionInfo Connection);
