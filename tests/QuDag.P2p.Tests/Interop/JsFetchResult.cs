namespace QuDag.P2p.Tests.Interop;

/// <summary>The fetch command: what js received from the remote's source, checked against InteropData.</summary>
public sealed record JsFetchResult(long Bytes, long Received, bool Match, long? FirstMismatch, string Sha256, double Ms);
