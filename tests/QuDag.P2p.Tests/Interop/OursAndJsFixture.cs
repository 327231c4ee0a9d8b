namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// js nodes shared by the tests that put our stack on one side: a js listener speaking noise and tls, and js
/// dialers offering noise only, tls only, and tls before noise. Started once, concurrently.
/// </summary>
public sealed class OursAndJsFixture : IAsyncLifetime
{
    public const string ListenerAgent = "js-listener/1.0";

    private JsNode[] _nodes = [];

    public JsNode Listener => _nodes[0];

    /// <summary>A js dialer: "noise", "tls" or "tls,noise" (prefers tls).</summary>
    public JsNode Dialer(string security) => security switch
    {
        "noise" => _nodes[1],
        "tls" => _nodes[2],
        "tls,noise" => _nodes[3],
        _ => throw new ArgumentOutOfRangeException(nameof(security), security, "noise, tls or tls,noise"),
    };

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _nodes = await JsNodes.StartAllAsync(
            [
                JsNodeOptions.Listener("noise,tls") with { Agent = ListenerAgent },
                JsNodeOptions.Dialer("noise") with { Agent = "js-dialer-noise/1.0" },
                JsNodeOptions.Dialer("tls") with { Agent = "js-dialer-tls/1.0" },
                JsNodeOptions.Dialer("tls,noise") with { Agent = "js-dialer-tls-first/1.0" },
            ],
            cts.Token);
    }

    public async Task DisposeAsync() => await JsNodes.DisposeAllAsync(_nodes);
}
