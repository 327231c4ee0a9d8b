using QuDag.P2p.Muxing.Yamux;
using Xunit;

namespace QuDag.P2p.Tests.Muxing;

public class AsyncSignalTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_late_cancellation_callback_of_a_completed_wait_leaves_the_next_wait_alone()
    {
        var signal = new AsyncSignal();
        using var first = new CancellationTokenSource();
        var firstWait = signal.WaitAsync(first.Token);
        signal.Set();
        await firstWait;

        var secondWait = signal.WaitAsync(CancellationToken.None).AsTask();
        first.Cancel();
        // The first wait's callback, run late: its token fired while Set was completing that wait, so
        // GetResult's Unregister could not stop it, and it reaches the signal only now.
        signal.OnCanceled(first.Token);

        Assert.False(secondWait.IsCompleted);
        signal.Set();
        await secondWait.WaitAsync(Bound);
    }

    [Fact]
    public async Task A_late_callback_does_not_cancel_a_next_wait_on_another_token()
    {
        var signal = new AsyncSignal();
        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();
        var firstWait = signal.WaitAsync(first.Token);
        signal.Set();
        await firstWait;

        var secondWait = signal.WaitAsync(second.Token).AsTask();
        first.Cancel();
        signal.OnCanceled(first.Token);
        Assert.False(secondWait.IsCompleted);

        // The next wait's own token still cancels it.
        second.Cancel();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => secondWait.WaitAsync(Bound));
        Assert.Equal(second.Token, error.CancellationToken);
    }

    [Fact]
    public async Task Cancelling_a_pending_wait_completes_it_and_the_signal_stays_usable()
    {
        var signal = new AsyncSignal();
        using var cts = new CancellationTokenSource();
        var wait = signal.WaitAsync(cts.Token).AsTask();
        Assert.False(wait.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Bound));

        var next = signal.WaitAsync(CancellationToken.None).AsTask();
        Assert.False(next.IsCompleted);
        signal.Set();
        await next.WaitAsync(Bound);
    }

    [Fact]
    public async Task A_set_before_the_wait_is_consumed_by_it()
    {
        var signal = new AsyncSignal();
        signal.Set();
        var wait = signal.WaitAsync(CancellationToken.None);
        Assert.True(wait.IsCompletedSuccessfully);
        await wait;
        Assert.False(signal.WaitAsync(CancellationToken.None).IsCompleted);
    }
}
