using Microsoft.Extensions.Time.Testing;

namespace QuDag.Network.Tests.Policy;

/// <summary>The keepalive monitor alone: its period, its timer, and what it counts.</summary>
public sealed class KeepAliveMonitorTests
{
    private sealed class Target(bool fails) : IKeepAliveTarget
    {
        public List<(long Now, TimeSpan Interval, TimeSpan Timeout)> Checks { get; } = [];

        public bool CheckKeepAlive(long now, TimeSpan interval, TimeSpan timeout)
        {
            Checks.Add((now, interval, timeout));
            return fails;
        }
    }

    [Theory]
    [InlineData(20_000, 10_000, 2_500)]  // a quarter of the shorter setting
    [InlineData(100, 100, 50)]           // at least 50 ms
    [InlineData(60_000, 60_000, 5_000)]  // at most 5 s
    public void The_period_is_a_quarter_of_the_shorter_setting_within_50_ms_and_5_s(int intervalMs, int timeoutMs, int periodMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(periodMs),
            KeepAliveMonitor.PeriodFor(TimeSpan.FromMilliseconds(intervalMs), TimeSpan.FromMilliseconds(timeoutMs)));

    [Fact]
    public async Task Each_period_checks_every_connection_and_counts_the_ones_it_failed()
    {
        var time = new FakeTimeProvider();
        var healthy = new Target(fails: false);
        var dead = new Target(fails: true);
        var failures = 0;
        await using var monitor = new KeepAliveMonitor(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(10), time,
            () => [healthy, dead], () => failures++);

        time.Advance(monitor.Period - TimeSpan.FromTicks(1));
        Assert.Empty(healthy.Checks);
        time.Advance(TimeSpan.FromTicks(1));
        time.Advance(monitor.Period);

        Assert.Equal(2, healthy.Checks.Count);
        Assert.Equal(2, dead.Checks.Count);
        Assert.Equal(2, failures);
        Assert.All(healthy.Checks, c => Assert.Equal((TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(10)), (c.Interval, c.Timeout)));
    }

    [Fact]
    public async Task Off_it_has_no_period_and_never_checks_and_disposed_it_stops()
    {
        var time = new FakeTimeProvider();
        var target = new Target(fails: false);
        await using (var off = new KeepAliveMonitor(TimeSpan.Zero, TimeSpan.FromSeconds(10), time, () => [target], () => { }))
        {
            Assert.Equal(TimeSpan.Zero, off.Period);
            time.Advance(TimeSpan.FromMinutes(5));
        }
        Assert.Empty(target.Checks);

        var on = new KeepAliveMonitor(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), time, () => [target], () => { });
        await on.DisposeAsync();
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Empty(target.Checks);
    }
}
