using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace QuDag.Network.Tests;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that records the due time of every timer created. A test that advances the
/// clock for a delay must first know the delay's timer exists: state published just before a timer is made (Polly's
/// OnRetry runs before its delay starts) does not prove it, and an advance that comes first is lost for good.
/// </summary>
internal sealed class TimerWatchingTimeProvider : FakeTimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> _dueTimes = new();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        _dueTimes.Enqueue(dueTime);
        return base.CreateTimer(callback, state, dueTime, period);
    }

    /// <summary>How many timers were created so far due <paramref name="dueTime"/> from their start, to the
    /// millisecond (a delay may reach the timer rounded to whole milliseconds).</summary>
    public int TimersCreated(TimeSpan dueTime) => _dueTimes.Count(d => (d - dueTime).Duration() < TimeSpan.FromMilliseconds(1));
}
