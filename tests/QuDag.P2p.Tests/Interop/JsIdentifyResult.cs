namespace QuDag.P2p.Tests.Interop;

/// <summary>What js learned of a remote through identify (PublicKey is the key protobuf in hex, or null).</summary>
public sealed record JsIdentifyResult(
    string Peer,
    string? AgentVersion,
    string? ProtocolVersion,
    IReadOnlyList<string> Protocols,
    IReadOnlyList<string> ListenAddrs,
    string? ObservedAddr,
    string? PublicKey);
