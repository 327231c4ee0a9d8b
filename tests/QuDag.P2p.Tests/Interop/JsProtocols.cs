namespace QuDag.P2p.Tests.Interop;

/// <summary>The protocols node.mjs serves (see tests/interop/README.md for their rules).</summary>
public static class JsProtocols
{
    public const string Request = "/qudag/req/1.0.0";
    public const string Echo = "/qudag-test/echo/1.0.0";
    public const string Sink = "/qudag-test/sink/1.0.0";
    public const string Source = "/qudag-test/source/1.0.0";
    public const string Ping = "/ipfs/ping/1.0.0";
    public const string Identify = "/ipfs/id/1.0.0";
}
