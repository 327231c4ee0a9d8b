using System.Net;
using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing.Yamux;
using QuDag.P2p.Security.Noise;
using QuDag.P2p.Tests.Support;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Tests.Upgrading;

/// <summary>
/// The upgrader's deadline and its errors: one deadline for a connection's whole setup, counted from its start (the
/// dial), and one error type for a first multistream round that breaks, whatever the timing of the break.
/// </summary>
public sealed class UpgraderTests
{
    private static readonly EndPoint Local = new IPEndPoint(IPAddress.Loopback, 1);
    private static readonly EndPoint Remote = new IPEndPoint(IPAddress.Loopback, 2);

    private static Upgrader NewUpgrader(NodeIdentity identity, TimeProvider time, TimeSpan timeout) =>
        new([new NoiseSecurity(identity, new NoiseSecurityOptions { TimeProvider = time })], [new YamuxMuxer()], timeout: timeout, timeProvider: time);

    [Fact]
    public async Task The_deadline_counts_from_the_connections_start_so_a_slow_dial_leaves_the_upgrade_only_the_rest()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var identity = NodeIdentity.Create();
        var upgrader = NewUpgrader(identity, time, TimeSpan.FromSeconds(10));
        var (ours, theirs) = Duplex.CreatePair();
        await using var _ = theirs;
        long start = time.GetTimestamp();
        time.Advance(TimeSpan.FromSeconds(8)); // the TCP connect took 8 of the 10 s

        var upgrade = upgrader.UpgradeOutboundAsync(ours, Local, Remote, null, start, CancellationToken.None);
        await theirs.ReadExactlyAsync(new byte[1]); // our header: the deadline is armed, and the remote never answers
        time.Advance(TimeSpan.FromSeconds(2));

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => upgrade.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("within 10 s", timeout.Message);
    }

    [Fact]
    public async Task A_per_call_timeout_replaces_the_upgraders_and_a_changed_timeout_applies_to_the_next_upgrade()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var identity = NodeIdentity.Create();
        var upgrader = NewUpgrader(identity, time, TimeSpan.FromSeconds(10));
        upgrader.Timeout = TimeSpan.FromSeconds(3);

        var (ours, theirs) = Duplex.CreatePair();
        await using var _ = theirs;
        var upgrade = upgrader.UpgradeOutboundAsync(ours, Local, Remote, null, time.GetTimestamp(), CancellationToken.None);
        await theirs.ReadExactlyAsync(new byte[1]);
        time.Advance(TimeSpan.FromSeconds(3));
        await Assert.ThrowsAsync<TimeoutException>(() => upgrade.WaitAsync(TimeSpan.FromSeconds(10)));

        var (ours2, theirs2) = Duplex.CreatePair();
        await using var __ = theirs2;
        var mine = upgrader.UpgradeOutboundAsync(ours2, Local, Remote, null, time.GetTimestamp(), CancellationToken.None, TimeSpan.FromSeconds(1));
        await theirs2.ReadExactlyAsync(new byte[1]);
        time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<TimeoutException>(() => mine.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    public static TheoryData<string, byte[]> NotLibp2p => new()
    {
        { "an HTTP answer", "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"u8.ToArray() },
        { "a close at once", [] },
        { "a multistream header, then a close", [0x13, .. "/multistream/1.0.0\n"u8] },
    };

    [Theory]
    [MemberData(nameof(NotLibp2p))]
    public async Task A_first_round_that_breaks_is_a_negotiation_error_both_ways(string what, byte[] answer)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow); // frozen: no failure here can be a timeout
        using var identity = NodeIdentity.Create();
        var upgrader = NewUpgrader(identity, time, TimeSpan.FromSeconds(10));
        foreach (var outbound in new[] { true, false })
        {
            var (ours, theirs) = Duplex.CreatePair();
            if (answer.Length > 0)
                await theirs.WriteAsync(answer);
            await theirs.DisposeAsync();

            var upgrade = outbound
                ? upgrader.UpgradeOutboundAsync(ours, Local, Remote, null, time.GetTimestamp(), CancellationToken.None)
                : upgrader.UpgradeInboundAsync(ours, Local, Remote, time.GetTimestamp(), CancellationToken.None);

            var error = await Assert.ThrowsAsync<UpgradeNegotiationException>(() => upgrade.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.True(error.Security, what);
            Assert.Contains("did not negotiate a security protocol", error.Message);
        }
    }
}
