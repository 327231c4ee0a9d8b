namespace QuDag.Network.Tests;

/// <summary>
/// The options' upper bounds are what the core can run with: a .NET timer takes at most 2^32-2 ms, Polly's retry (the
/// reconnect backoff) at most a day. Past them the constructor says which option is wrong; at them the manager works.
/// </summary>
public sealed class OptionsBoundsTests
{
    private static readonly TimeSpan JustOver = ConnectionManagerOptions.MaxTimeout + TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan OverADay = ConnectionManagerOptions.MaxPolicyDelay + TimeSpan.FromSeconds(1);

    public static TheoryData<string, Action<ConnectionManagerOptions>> TooLong => new()
    {
        { nameof(ConnectionManagerOptions.PoolTimeout), o => o.PoolTimeout = JustOver },
        { nameof(ConnectionManagerOptions.ConnectTimeout), o => o.ConnectTimeout = JustOver },
        { nameof(ConnectionManagerOptions.RequestTimeout), o => o.RequestTimeout = TimeSpan.FromSeconds(int.MaxValue) },
        { nameof(ConnectionManagerOptions.KeepAliveInterval), o => o.KeepAliveInterval = JustOver },
        { nameof(ConnectionManagerOptions.KeepAliveTimeout), o => o.KeepAliveTimeout = JustOver },
        { nameof(ConnectionManagerOptions.ReconnectDelay), o => { o.ReconnectDelay = OverADay; o.ReconnectMaxDelay = OverADay; } },
        { nameof(ConnectionManagerOptions.ReconnectMaxDelay), o => o.ReconnectMaxDelay = OverADay },
        { nameof(ConnectionManagerOptions.CircuitBreakerBreakDuration), o => o.CircuitBreakerBreakDuration = JustOver },
    };

    [Theory]
    [MemberData(nameof(TooLong))]
    public void Refuses_a_duration_the_core_cannot_run_with_naming_the_option(string option, Action<ConnectionManagerOptions> set)
    {
        var options = new ConnectionManagerOptions();
        set(options);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionManager(options));
        Assert.Equal(option, ex.ParamName);
        Assert.StartsWith($"{option} must be at most ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connects_and_answers_requests_with_every_timeout_at_its_bound()
    {
        ConnectionManagerOptions AtTheBounds() => new()
        {
            PoolTimeout = ConnectionManagerOptions.MaxTimeout,
            ConnectTimeout = ConnectionManagerOptions.MaxTimeout,
            RequestTimeout = ConnectionManagerOptions.MaxTimeout,
            KeepAliveInterval = ConnectionManagerOptions.MaxTimeout,
            KeepAliveTimeout = ConnectionManagerOptions.MaxTimeout,
            ReconnectDelay = ConnectionManagerOptions.MaxPolicyDelay,
            ReconnectMaxDelay = ConnectionManagerOptions.MaxPolicyDelay,
            CircuitBreakerBreakDuration = ConnectionManagerOptions.MaxTimeout,
        };
        await using var server = await TestNode.StartAsync(AtTheBounds());
        server.Manager.RequestHandler = (request, _) => ValueTask.FromResult(request.Payload);
        await using var client = new ConnectionManager(AtTheBounds());
        await client.ConnectAsync(server.Id, server.EndPoint);
        var response = await client.RequestAsync(server.Id, "bounded"u8.ToArray());
        Assert.Equal("bounded"u8.ToArray(), response.Payload);
        await client.DisconnectAsync(server.Id); // into the pool, whose expiry timer takes the bound too
        await client.ConnectAsync(server.Id);
    }
}
