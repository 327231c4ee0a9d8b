namespace QuDag.P2p.Tests.Interop;

/// <summary>The js node is gone, did not start, or did not answer in time.</summary>
public sealed class JsNodeException(string message) : Exception(message);
