using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using QuDag.Network;

namespace QuDag.Network.Tests;

/// <summary>What the core keeps for dashboards and reports: a bounded round-trip history per peer, a bounded log of
/// connection events, and failures counted by reason on the meter.</summary>
public sealed class TelemetryCoreTests
{
    [Fact]
    public async Task Each_peer_keeps_its_last_round_trips_oldest_first_and_bounded()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(10);
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        Assert.Empty(manager.GetRoundTrips(peer.Id));

        var measured = new List<TimeSpan>();
        for (var i = 0; i < ConnectionManager.RoundTripHistoryCapacity + 6; i++)
            measured.Add(await manager.PingAsync(peer.Id));

        var kept = manager.GetRoundTrips(peer.Id);
        Assert.Equal(ConnectionManager.RoundTripHistoryCapacity, kept.Count);
        Assert.Equal(measured.Skip(6), kept.Select(s => s.RoundTrip));
        Assert.True(kept.Zip(kept.Skip(1)).All(p => p.First.At <= p.Second.At), "samples are in time order");
        Assert.Empty(manager.GetRoundTrips(FreshId()));
    }

    [Fact]
    public async Task Connection_events_are_logged_in_order_and_the_log_is_bounded()
    {
        await using var peer = await TestNode.StartAsync();
        await using var manager = new ConnectionManager(new ConnectionManagerOptions { PoolTimeout = TimeSpan.Zero });
        await manager.ConnectAsync(peer.Id, peer.EndPoint);
        await manager.DisconnectAsync(peer.Id);

        var events = manager.GetRecentEvents();
        Assert.Equal([ConnectionStatus.Connecting, ConnectionStatus.Connected, ConnectionStatus.Disconnected], events.Select(e => e.NewStatus));
        Assert.All(events, e => Assert.Equal(peer.Id, e.PeerId));
        Assert.Null(events[0].OldStatus);

        // Statuses recorded by hand are not connection events: they stay out of the log.
        await manager.UpdateStatusAsync(peer.Id, ConnectionStatus.Failed, "by hand");
        Assert.Equal(3, manager.GetRecentEvents().Count);

        for (var i = 0; i < ConnectionManager.EventLogCapacity; i++)
        {
            await manager.ConnectAsync(peer.Id);
            await manager.DisconnectAsync(peer.Id);
        }
        var bounded = manager.GetRecentEvents();
        Assert.Equal(ConnectionManager.EventLogCapacity, bounded.Count);
        Assert.Equal(ConnectionStatus.Disconnected, bounded[^1].NewStatus);
    }

    [Fact]
    public async Task Failures_are_published_by_direction_and_error_type_and_sum_to_the_totals()
    {
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound, not listening: refuses
        var options = new ConnectionManagerOptions { CircuitBreakerFailureThreshold = 0 };
        await using var manager = new ConnectionManager(options);
        var unreachable = FreshId();
        var denied = FreshId();
        manager.Gater.Deny(denied);

        for (var i = 0; i < 2; i++)
            await Assert.ThrowsAsync<PeerConnectException>(() => manager.ConnectAsync(unreachable, closed.LocalEndPoint!));
        await Assert.ThrowsAsync<PeerDeniedException>(() => manager.ConnectAsync(denied, closed.LocalEndPoint!));

        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "qudag.connection.failures"
                && instrument.Meter.Tags?.Any(t => t.Key == "qudag.peer.id" && Equals(t.Value, manager.LocalPeerId.ToString())) == true)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var t = tags.ToArray().ToDictionary(k => k.Key, k => k.Value);
            seen[$"{t["direction"]}/{t["error.type"]}"] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal(new Dictionary<string, long> { ["outbound/unreachable"] = 2, ["outbound/denied"] = 1 }, seen);
        Assert.Equal(3, manager.GetMetrics().FailedConnects);
    }

    private static PeerId FreshId()
    {
        using var identity = NodeIdentity.Create();
        return identity.PeerId;
    }
}
