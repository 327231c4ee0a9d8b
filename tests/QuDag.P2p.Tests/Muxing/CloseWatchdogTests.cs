using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Muxing.Yamux;

namespace QuDag.P2p.Tests.Muxing;

/// <summary>The shared timer that bounds closes: fires once a step is overdue, never for a step that finished, re-arms on request, and stops when idle.</summary>
public sealed class CloseWatchdogTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    [Fact]
    public void A_step_still_registered_after_its_delay_is_called_once_within_a_tick()
    {
        var time = new FakeTimeProvider();
        var watchdog = new CloseWatchdog(time, Tick);
        int calls = 0;
        using var registration = watchdog.Watch(TimeSpan.FromSeconds(2), _ => { calls++; return null; }, new object());

        time.Advance(TimeSpan.FromSeconds(2) - Tick);
        Assert.Equal(0, calls);
        time.Advance(Tick);
        Assert.Equal(1, calls);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, calls);
        Assert.Equal(0, watchdog.Count);
    }

    [Fact]
    public void A_step_that_finished_in_time_is_never_called()
    {
        var time = new FakeTimeProvider();
        var watchdog = new CloseWatchdog(time, Tick);
        int calls = 0;
        var registrations = Enumerable.Range(0, 100)
            .Select(_ => watchdog.Watch(TimeSpan.FromSeconds(1), _ => { calls++; return null; }, new object())).ToList();
        Assert.Equal(100, watchdog.Count);

        time.Advance(TimeSpan.FromMilliseconds(500));
        registrations.ForEach(r => r.Dispose());
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(0, calls);
        Assert.Equal(0, watchdog.Count);
    }

    [Fact]
    public void A_callback_that_asks_again_is_called_again_after_its_new_delay_and_its_state_comes_along()
    {
        var time = new FakeTimeProvider();
        var watchdog = new CloseWatchdog(time, Tick);
        var state = new object();
        var seen = new List<(object State, TimeSpan At)>();
        var start = time.GetUtcNow();
        using var registration = watchdog.Watch(TimeSpan.FromSeconds(2), s =>
        {
            seen.Add((s, time.GetUtcNow() - start));
            return seen.Count == 1 ? TimeSpan.FromSeconds(1) : null;
        }, state);

        for (int i = 0; i < 100; i++)
            time.Advance(Tick);

        Assert.Equal(2, seen.Count);
        Assert.All(seen, s => Assert.Same(state, s.State));
        Assert.InRange(seen[0].At, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2) + Tick);
        Assert.InRange(seen[1].At - seen[0].At, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1) + Tick);
    }

    [Fact]
    public void A_throwing_callback_does_not_stop_the_others()
    {
        var time = new FakeTimeProvider();
        var watchdog = new CloseWatchdog(time, Tick);
        int calls = 0;
        using var bad = watchdog.Watch(TimeSpan.FromSeconds(1), _ => throw new InvalidOperationException("a broken step"), new object());
        using var good = watchdog.Watch(TimeSpan.FromSeconds(1), _ => { calls++; return null; }, new object());

        time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(1, calls);
        Assert.Equal(0, watchdog.Count);
    }

    [Fact]
    public void The_timer_stops_when_nothing_is_watched_and_starts_again_for_the_next_step()
    {
        var time = new FakeTimeProvider();
        var watchdog = new CloseWatchdog(time, Tick);
        int calls = 0;
        Assert.False(watchdog.Ticking);
        watchdog.Watch(TimeSpan.FromSeconds(1), _ => { calls++; return null; }, new object()).Dispose();
        Assert.True(watchdog.Ticking);
        time.Advance(Tick); // the tick that finds nothing stops the timer
        Assert.False(watchdog.Ticking);

        using var later = watchdog.Watch(TimeSpan.FromSeconds(1), _ => { calls++; return null; }, new object());
        Assert.True(watchdog.Ticking);
        time.Advance(TimeSpan.FromSeconds(1) + Tick);

        Assert.Equal(1, calls);
        Assert.False(watchdog.Ticking);
    }
}
