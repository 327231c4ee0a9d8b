namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// Three js nodes shared by the harness tests that do not break their connections: a listener speaking
/// noise and tls, and one dialer per security protocol connected to it (a dialer that offers only one
/// protocol forces it). Starting node processes is the slow part, so they start once, concurrently.
/// </summary>
public sealed class JsPairFixture : IAsyncLifetime
{
    public const string ListenerAgent = "listener-a/1.0";

    private JsNode[] _nodes = [];

    public JsNode Listener => _nodes[0];

    /// <summary>The dialer connected to <see cref="Listener"/> with <paramref name="security"/> ("noise" or "tls").</summary>
    public JsNode Dialer(string security) => security switch
    {
        "noise" => _nodes[1],
        "tls" => _nodes[2],
        _ => throw new ArgumentOutOfRangeException(nameof(security), security, "noise or tls"),
    };

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _nodes = await JsNodes.StartAllAsync(
            [
                JsNodeOptions.Listener("noise,tls") with { Agent = ListenerAgent },
                JsNodeOptions.Dialer("noise") with { Agent = "dialer-noise/1.0" },
                JsNodeOptions.Dialer("tls") with { Agent = "dialer-tls/1.0" },
            ],
            cts.Token);
        foreach (JsNode dialer in _nodes[1..])
        {
            await dialer.DialAsync(Listener.Addresses[0], ct: cts.Token);
            await Listener.WaitForEventAsync("connection:open", e => JsNodes.PeerOf(e) == dialer.PeerId, TimeSpan.FromSeconds(10), cts.Token);
        }
    }

    public async Task DisposeAsync() => await JsNodes.DisposeAllAsync(_nodes);
}
