namespace QuDag.P2p.Tests.Interop;

/// <summary>The streams command's tally: how many echo streams came back byte-exact, and the first failures.</summary>
public sealed record JsStreamsResult(int Succeeded, int Failed, IReadOnlyList<JsStreamFailure> Failures);
