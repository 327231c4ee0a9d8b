using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Tests.Host;

namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// Our close against js-libp2p, which keeps its identify stream open (and our ping stream stays cached): with our
/// clock frozen and yamux's close bound at an hour, the close still completes and js reports the connection closed.
/// </summary>
[Trait("Category", "Interop")]
public sealed class CloseInteropTests(OursAndJsFixture js) : IClassFixture<OursAndJsFixture>
{
    public static TheoryData<string, bool> Cases => new()
    {
        { SecurityProtocols.Noise, true },
        { SecurityProtocols.Noise, false },
        { SecurityProtocols.Tls, true },
        { SecurityProtocols.Tls, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Our_close_of_a_js_connection_completes_at_once_after_a_ping_or_a_bare_dial(string security, bool ping)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // against a hang only
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = HostCloseTests.FrozenHost(time, security);
        var connection = await host.DialAsync(Multiaddr.Parse(js.Listener.Addresses[0]), guard.Token);
        await js.Listener.WaitForEventAsync("peer:identify", e => JsNodes.PeerOf(e) == host.LocalPeerId.ToString(), TimeSpan.FromSeconds(10), guard.Token);
        await host.IdentifyAsync(connection, guard.Token);
        if (ping)
            await host.PingAsync(connection, guard.Token);

        await connection.CloseAsync(guard.Token);

        Assert.False(connection.IsOpen);
        Assert.True(connection.Completion.IsCompletedSuccessfully);
        await js.Listener.WaitForEventAsync("connection:close", e => JsNodes.PeerOf(e) == host.LocalPeerId.ToString(), TimeSpan.FromSeconds(10), guard.Token);
        Assert.DoesNotContain(await js.Listener.ConnectionsAsync(ct: guard.Token), c => c.Peer == host.LocalPeerId.ToString());
    }
}
