using Microsoft.Extensions.Time.Testing;

namespace QuDag.Network.Tests.Peers;

/// <summary>The peer table alone: entries, count, status changes, their stamp, log and notification.</summary>
public sealed class PeerTableTests
{
    private sealed class Entry(PeerId id) : PeerRecord(id);

    private readonly object _sender = new();
    private readonly FakeTimeProvider _time = new();

    private PeerTable<Entry> Table() => new(_sender, _time, id => new Entry(id));

    [Fact]
    public async Task Get_or_add_makes_one_entry_per_peer_and_counts_it_once_under_contention()
    {
        var table = Table();
        var id = Ids.Unheld();
        var entries = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => table.GetOrAdd(id))));

        Assert.All(entries, e => Assert.Same(entries[0], e));
        Assert.Equal(1, table.Count);
        Assert.True(table.TryGet(id, out var found));
        Assert.Same(entries[0], found);
        Assert.False(table.TryGet(Ids.Unheld(), out _));
    }

    [Fact]
    public void A_change_is_stamped_logged_and_told_to_the_event_and_the_peers_subscribers()
    {
        var table = Table();
        var entry = table.GetOrAdd(Ids.Unheld());
        var events = new List<(object? Sender, ConnectionStatusChangedEventArgs Args)>();
        var mine = new List<ConnectionStatusChangedEventArgs>();
        table.StatusChanged += (s, e) => events.Add((s, e));
        using var subscription = entry.Subscribe(mine.Add);

        _time.Advance(TimeSpan.FromSeconds(3));
        var before = _time.GetUtcNow();
        table.SetStatus(entry, ConnectionStatus.Connecting, null);
        table.SetStatus(entry, ConnectionStatus.Failed, "refused");

        Assert.Equal(ConnectionStatus.Failed, entry.Status);
        Assert.Equal("refused", entry.LastError);
        Assert.Equal(before, table.LastChange(entry));
        Assert.All(events, e => Assert.Same(_sender, e.Sender));
        Assert.Equal([(null, ConnectionStatus.Connecting), (ConnectionStatus.Connecting, ConnectionStatus.Failed)],
            events.Select(e => (e.Args.OldStatus, e.Args.NewStatus)));
        Assert.Equal(events.Select(e => e.Args), mine);
        Assert.Equal([ConnectionStatus.Connecting, ConnectionStatus.Failed], table.Events.Snapshot().Select(e => e.NewStatus));
    }

    [Fact]
    public void The_same_status_again_tells_nobody_unless_it_was_recorded_and_a_recorded_status_is_neither_stamped_nor_logged()
    {
        var table = Table();
        var entry = table.GetOrAdd(Ids.Unheld());
        var told = 0;
        table.StatusChanged += (_, _) => told++;

        table.SetStatus(entry, ConnectionStatus.Connected, null);
        table.SetStatus(entry, ConnectionStatus.Connected, null);
        Assert.Equal(1, told);

        var fresh = table.GetOrAdd(Ids.Unheld());
        table.SetStatus(fresh, ConnectionStatus.Connected, null, recorded: true);
        table.SetStatus(fresh, ConnectionStatus.Connected, null, recorded: true);
        Assert.Equal(3, told);
        Assert.Null(table.LastChange(fresh));
        Assert.Single(table.Events.Snapshot());
    }

    [Fact]
    public void A_throwing_listener_stops_neither_the_change_nor_the_other_listeners_and_a_disposed_subscription_hears_nothing()
    {
        var table = Table();
        var entry = table.GetOrAdd(Ids.Unheld());
        var heard = 0;
        table.StatusChanged += (_, _) => throw new InvalidOperationException("faulty handler");
        table.StatusChanged += (_, _) => heard++;
        var subscription = entry.Subscribe(_ => heard++);

        table.SetStatus(entry, ConnectionStatus.Connected, null);
        subscription.Dispose();
        subscription.Dispose();
        table.SetStatus(entry, ConnectionStatus.Disconnected, null);

        Assert.Equal(3, heard);
        Assert.Equal(ConnectionStatus.Disconnected, entry.Status);
    }
}
