using System.Net;
using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Host;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Tests.Muxing;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Tests.Host;

/// <summary>
/// Closing a connection whose streams are still open (the host's cached ping stream, an identify stream) does not wait
/// for them: with the hosts' clock frozen and yamux's close bound at an hour, the close still completes, and the remote
/// sees our GoAway and then the end of the connection. No timer can have fired on the way.
/// </summary>
public sealed class HostCloseTests
{
    public static TheoryData<string, bool> Cases => new()
    {
        { SecurityProtocols.Noise, true },
        { SecurityProtocols.Noise, false },
        { SecurityProtocols.Tls, true },
        { SecurityProtocols.Tls, false },
    };

    /// <summary>A host on a frozen clock whose closes may take an hour before anything cuts them short.</summary>
    internal static P2pHost FrozenHost(FakeTimeProvider time, string security) => new(new P2pHostOptions
    {
        Security = [security],
        TimeProvider = time,
        Yamux = new YamuxOptions { CloseTimeout = TimeSpan.FromHours(1), TimeProvider = time },
    });

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Closing_after_a_ping_completes_at_once_with_the_ping_stream_open_and_the_remote_sees_GoAway(string security, bool ping)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // against a hang only
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var a = FrozenHost(time, security);
        await using var b = FrozenHost(time, security);
        var listener = await b.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0), guard.Token);
        var inbound = new TaskCompletionSource<P2pConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.ConnectionOpened += c => inbound.TrySetResult(c);
        var outbound = await a.DialAsync(listener.Addresses[0], guard.Token);
        var accepted = await inbound.Task.WaitAsync(guard.Token);
        await a.IdentifyAsync(outbound, guard.Token);
        if (ping)
        {
            await a.PingAsync(outbound, guard.Token);
            Assert.True(outbound.Session.StreamCount >= 1, "the host keeps its ping stream open between pings");
        }

        await outbound.CloseAsync(guard.Token);
        await accepted.Completion.WaitAsync(guard.Token);

        Assert.False(outbound.IsOpen);
        Assert.True(outbound.Completion.IsCompletedSuccessfully);
        Assert.True(accepted.Completion.IsCompletedSuccessfully, "the remote saw a clean end");
        Assert.Equal(YamuxGoAwayCode.Normal, ((YamuxSession)accepted.Session).RemoteGoAwayCode);
        await Wait.UntilAsync(() => a.Connections.Count == 0 && b.Connections.Count == 0, "both hosts drop the connection");
    }
}
