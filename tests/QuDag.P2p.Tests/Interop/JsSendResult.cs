namespace QuDag.P2p.Tests.Interop;

/// <summary>The send command: the SHA-256 js computed over what it wrote and the one the remote's sink answered.</summary>
public sealed record JsSendResult(long Bytes, string LocalSha256, string RemoteSha256, bool Match, double Ms);
