namespace QuDag.Network.Tests.Pool;

/// <summary>The limiter alone: it never overshoots, evicts the longest-idle connection to make room, or refuses.</summary>
public sealed class ConnectionLimiterTests
{
    [Fact]
    public async Task At_the_limit_with_nothing_idle_a_reservation_fails_with_the_limit_and_the_peer()
    {
        var limiter = new ConnectionLimiter(2, () => ValueTask.FromResult(false));
        var peer = Ids.Unheld();
        await limiter.ReserveAsync(null);
        var second = await limiter.ReserveAsync(peer);

        var refused = await Assert.ThrowsAsync<ConnectionLimitReachedException>(() => limiter.ReserveAsync(peer).AsTask());
        Assert.Equal(2, limiter.Open);
        Assert.Contains("2", refused.Message);

        second.Dispose();
        second.Dispose(); // a slot goes back once, however often its holder lets go
        Assert.Equal(1, limiter.Open);
        await limiter.ReserveAsync(peer);
        Assert.Equal(2, limiter.Open);
    }

    [Fact]
    public async Task At_the_limit_a_reservation_evicts_an_idle_connection_whose_close_frees_the_slot()
    {
        ConnectionSlot? idle = null;
        var limiter = new ConnectionLimiter(1, () =>
        {
            if (Interlocked.Exchange(ref idle, null) is not { } evicted)
                return ValueTask.FromResult(false);
            evicted.Dispose(); // the evicted connection's close gives its slot back
            return ValueTask.FromResult(true);
        });
        idle = await limiter.ReserveAsync(null);

        await limiter.ReserveAsync(null);

        Assert.Equal(1, limiter.Open);
        await Assert.ThrowsAsync<ConnectionLimitReachedException>(() => limiter.ReserveAsync(null).AsTask());
    }

    [Fact]
    public async Task Concurrent_reservations_never_overshoot()
    {
        const int max = 8;
        var limiter = new ConnectionLimiter(max, () => ValueTask.FromResult(false));
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            try
            {
                await limiter.ReserveAsync(null);
                return true;
            }
            catch (ConnectionLimitReachedException)
            {
                return false;
            }
        })));

        Assert.Equal(max, outcomes.Count(granted => granted));
        Assert.Equal(max, limiter.Open);
    }
}
