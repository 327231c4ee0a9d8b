using System.Net;
using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Kad;
using QuDag.P2p.Protocols.Kad.Routing;

namespace QuDag.P2p.Tests.Protocols;

/// <summary>
/// A full bucket checks its least recently seen entry when a newcomer wants in (the spec; js pings, we ask FIND_NODE):
/// over real loopback connections, a peer that is gone or never answers gives its place to the newcomer, one that
/// answers keeps it, and a bucket runs one check at a time however many newcomers arrive.
/// </summary>
public sealed class KadLivenessTests
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(60);

    // k = 1: one entry per bucket, so the second peer of a bucket finds it full. Every newcomer may start a check.
    private static KadOptions Options(TimeSpan? checkTimeout = null) =>
        new() { K = 1, StaleAfter = TimeSpan.Zero, StaleCheckTimeout = checkTimeout ?? TimeSpan.FromSeconds(10), RefreshInterval = TimeSpan.Zero };

    /// <summary>A key pair whose peer id falls in <paramref name="local"/>'s bucket 0 (half of all ids do).</summary>
    private static NodeIdentity IdentityInBucket0(PeerId local)
    {
        while (true)
        {
            var identity = NodeIdentity.Create();
            if (KadKey.ForPeer(local).CommonPrefixLength(KadKey.ForPeer(identity.PeerId)) == 0)
                return identity;
            identity.Dispose();
        }
    }

    private static PeerId PeerInBucket0(PeerId local)
    {
        while (true)
        {
            var peer = KadDhtTests.RandomPeer();
            if (KadKey.ForPeer(local).CommonPrefixLength(KadKey.ForPeer(peer)) == 0)
                return peer;
        }
    }

    /// <summary>Completes with the first check's outcome (the entry checked and whether it answered).</summary>
    private static Task<(PeerId Peer, bool Answered)> NextCheck(KadDht dht)
    {
        var checkedOnce = new TaskCompletionSource<(PeerId, bool)>(TaskCreationOptions.RunContinuationsAsynchronously);
        dht.StaleChecked += (peer, answered) => checkedOnce.TrySetResult((peer, answered));
        return checkedOnce.Task.WaitAsync(EventTimeout);
    }

    [Fact]
    public async Task A_full_buckets_oldest_entry_that_is_gone_gives_its_place_to_the_newcomer()
    {
        await using var host = new P2pHost();
        await using var dht = new KadDht(host.LocalPeerId, new HostKadNetwork(host), Options());
        var (goneHost, goneDht, goneAddress) = await KadDhtTests.ServerAsync(identity: IdentityInBucket0(host.LocalPeerId));
        var (newHost, newDht, newAddress) = await KadDhtTests.ServerAsync(identity: IdentityInBucket0(host.LocalPeerId));
        await using (newHost) await using (newDht)
        {
            Assert.Equal(RoutingTableUpdate.Added, dht.AddPeer(goneHost.LocalPeerId, [goneAddress], IPAddress.Loopback));
            await goneDht.DisposeAsync();
            await goneHost.DisposeAsync(); // its listener closes: a dial to it is refused
            var check = NextCheck(dht);

            Assert.Equal(RoutingTableUpdate.Pending, dht.AddPeer(newHost.LocalPeerId, [newAddress], IPAddress.Loopback));

            Assert.Equal((goneHost.LocalPeerId, false), await check);
            Assert.Null(dht.RoutingTable.Find(goneHost.LocalPeerId));
            Assert.Equal(newHost.LocalPeerId, Assert.Single(dht.RoutingTable.Entries).Id);
            Assert.Equal(0, dht.RoutingTable.PendingCount);
        }
    }

    [Fact]
    public async Task A_full_buckets_oldest_entry_that_answers_keeps_its_place_and_the_newcomer_waits()
    {
        await using var host = new P2pHost();
        await using var dht = new KadDht(host.LocalPeerId, new HostKadNetwork(host), Options());
        var (liveHost, liveDht, liveAddress) = await KadDhtTests.ServerAsync(identity: IdentityInBucket0(host.LocalPeerId));
        await using (liveHost) await using (liveDht)
        {
            Assert.Equal(RoutingTableUpdate.Added, dht.AddPeer(liveHost.LocalPeerId, [liveAddress], IPAddress.Loopback));
            var seenBefore = dht.RoutingTable.Find(liveHost.LocalPeerId)!.LastSeen;
            var check = NextCheck(dht);
            var newcomer = PeerInBucket0(host.LocalPeerId);

            Assert.Equal(RoutingTableUpdate.Pending, dht.AddPeer(newcomer, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/9")], IPAddress.Loopback));

            Assert.Equal((liveHost.LocalPeerId, true), await check);
            Assert.Equal(1, liveDht.Counters.Served); // it was asked, over a real connection, and answered
            var entry = Assert.Single(dht.RoutingTable.Entries);
            Assert.Equal(liveHost.LocalPeerId, entry.Id);
            Assert.True(entry.LastSeen >= seenBefore);
            Assert.Equal(1, dht.RoutingTable.PendingCount); // the newcomer waits for a place
        }
    }

    [Fact]
    public async Task An_oldest_entry_that_never_answers_is_replaced_at_the_check_timeout_and_a_bucket_runs_one_check_at_a_time()
    {
        await using var host = new P2pHost();
        await using var dht = new KadDht(host.LocalPeerId, new HostKadNetwork(host), Options(checkTimeout: TimeSpan.FromSeconds(2)));
        // A peer that takes every kad stream and never answers: only the check's timeout ends the wait.
        await using var silent = new P2pHost(new P2pHostOptions { Identity = IdentityInBucket0(host.LocalPeerId) });
        var listener = await silent.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        int asked = 0;
        silent.SetStreamHandler(KadProtocol.DefaultId, async (stream, _, ct) =>
        {
            Interlocked.Increment(ref asked);
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        });
        Assert.Equal(RoutingTableUpdate.Added, dht.AddPeer(silent.LocalPeerId, [listener.Addresses[0]], IPAddress.Loopback));
        var check = NextCheck(dht);

        // 50 newcomers for the same full bucket while the first check runs: none starts another.
        var newcomers = Enumerable.Range(0, 50).Select(_ => PeerInBucket0(host.LocalPeerId)).ToArray();
        foreach (var newcomer in newcomers)
            Assert.Equal(RoutingTableUpdate.Pending, dht.AddPeer(newcomer, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/9")], IPAddress.Loopback));

        Assert.Equal((silent.LocalPeerId, false), await check);
        Assert.Equal(1, Volatile.Read(ref asked));
        Assert.Equal(newcomers[^1], Assert.Single(dht.RoutingTable.Entries).Id); // the newest newcomer took the place
    }

    [Fact]
    public void The_table_offers_a_check_only_for_a_full_bucket_with_newcomers_one_at_a_time_and_not_for_a_recently_seen_entry()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T10:00:00Z"));
        var local = KadDhtTests.RandomPeer();
        var table = new RoutingTable(local, k: 1, timeProvider: time);
        var (first, second, third) = (PeerInBucket0(local), PeerInBucket0(local), PeerInBucket0(local));
        var staleAfter = TimeSpan.FromMinutes(10);

        table.TryAdd(first, [], null);
        Assert.False(table.TryBeginCheck(second, staleAfter, out _));   // full, but no newcomer waits
        Assert.Equal(RoutingTableUpdate.Pending, table.TryAdd(second, [], null));
        Assert.False(table.TryBeginCheck(second, staleAfter, out _));   // the oldest was seen just now
        time.Advance(staleAfter + TimeSpan.FromSeconds(1));
        Assert.True(table.TryBeginCheck(second, staleAfter, out var oldest));
        Assert.Equal(first, oldest.Id);
        Assert.False(table.TryBeginCheck(third, staleAfter, out _));    // one check per bucket at a time

        // Seen again while the check ran (it answered a lookup): a failed check does not remove it.
        table.TryAdd(first, [], null);
        table.EndCheck(oldest, answered: false);
        Assert.NotNull(table.Find(first));

        // A check that fails removes it and promotes the newcomer; the table says so.
        time.Advance(staleAfter + TimeSpan.FromSeconds(1));
        Assert.True(table.TryBeginCheck(second, staleAfter, out oldest));
        var changes = new List<(PeerId, bool)>();
        table.Changed += (peer, added) => changes.Add((peer, added));
        table.EndCheck(oldest, answered: false);
        Assert.Equal([(first, false), (second, true)], changes);
        Assert.Equal(1, table.Count);
        Assert.Equal(0, table.PendingCount);
    }
}
