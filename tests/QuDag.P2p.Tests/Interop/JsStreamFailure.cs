namespace QuDag.P2p.Tests.Interop;

/// <summary>One failed stream of the streams command.</summary>
public sealed record JsStreamFailure(int Index, string Error);
