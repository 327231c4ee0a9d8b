using CsCheck;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Identity;
using QuDag.P2p.Resources;

namespace QuDag.P2p.Tests.Resources;

/// <summary>The scopes' rules, one by one, on the manager alone (no sockets): what each limit refuses, what the
/// refusal says, and that every reservation comes back with one Dispose.</summary>
public sealed class ResourceManagerTests
{
    private static readonly IPEndPoint Remote = new(IPAddress.Parse("192.0.2.10"), 4001);
    private static readonly PeerId PeerA = NodeIdentity.FromEd25519Seed(Enumerable.Repeat((byte)1, 32).ToArray()).PeerId;
    private static readonly PeerId PeerB = NodeIdentity.FromEd25519Seed(Enumerable.Repeat((byte)2, 32).ToArray()).PeerId;

    private static ResourceManager Manager(Func<ResourceManagerOptions, ResourceManagerOptions>? change = null, TimeProvider? time = null,
        int maxPending = 8, Func<long>? rss = null)
    {
        var options = new ResourceManagerOptions(1L << 30);
        return new ResourceManager(change is null ? options : change(options), time ?? new FakeTimeProvider(), maxPending, rss);
    }

    private static void AssertAllEmpty(ResourceManager manager)
    {
        foreach (var usage in manager.GetUsage())
            Assert.True(usage.IsEmpty, $"{usage.Scope} {usage.Name} still holds {usage}");
        Assert.Equal(0, manager.Subnets.Count);
    }

    [Fact]
    public void A_connection_counts_in_system_from_its_open_is_pending_in_transient_then_in_its_peers_and_one_dispose_frees_all()
    {
        var manager = Manager();
        var scope = manager.OpenConnection(inbound: true, Remote)!;
        Assert.Equal(1, manager.Transient.Usage().ConnectionsInbound);
        Assert.Equal(1, manager.System.Usage().ConnectionsInbound); // as go's: the system scope counts pending ones too

        scope.SetPeer(PeerA);
        Assert.Equal(0, manager.Transient.Usage().ConnectionsInbound);
        Assert.Equal(1, manager.System.Usage().ConnectionsInbound);
        Assert.Equal(1, manager.FindPeer(PeerA)!.Usage().ConnectionsInbound);

        var stream = scope.OpenStream(inbound: true);
        stream.SetProtocol("/ipfs/ping/1.0.0");
        Assert.Null(stream.TryReserveMemory(16384));
        Assert.Equal(1, manager.FindProtocol("/ipfs/ping/1.0.0")!.Usage().StreamsInbound);
        Assert.Equal(16384, manager.System.Usage().MemoryBytes);
        Assert.Equal(16384, scope.Self.Usage().MemoryBytes);

        scope.Dispose();
        // The peer scope stays while its stream does: the stream still holds its slot there.
        Assert.Equal(1, manager.FindPeer(PeerA)!.Usage().StreamsInbound);
        stream.Dispose();
        stream.Dispose();
        scope.Dispose();
        Assert.Null(manager.FindPeer(PeerA));
        AssertAllEmpty(manager);
    }

    [Fact]
    public void Pending_limits_hold_by_direction_in_the_transient_scope()
    {
        var manager = Manager(o => o with { Transient = new ResourceLimits { ConnectionsInbound = 1, ConnectionsOutbound = 2 } });
        using var first = manager.OpenConnection(inbound: true, Remote);
        var refused = Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse("192.0.2.11"), 1)));
        Assert.Equal(ResourceScopeKind.Transient, refused.Scope);
        Assert.Contains("the transient scope is at its limit of 1 inbound connections", refused.Message);
        using var out1 = manager.OpenConnection(inbound: false, Remote);
        using var out2 = manager.OpenConnection(inbound: false, Remote);
        Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: false, Remote));
        Assert.Equal(2, manager.Transient.Blocked);

        // Once the first is established it leaves the pending count, and another may come.
        first!.SetPeer(PeerA);
        using var second = manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse("192.0.2.12"), 1));
    }

    [Fact]
    public void The_system_limit_counts_pending_and_established_connections_and_refuses_at_open()
    {
        var manager = Manager(o => o with { System = o.System with { Connections = 2 } });
        using var pending = manager.OpenConnection(inbound: true, Remote)!;
        using var established = manager.OpenConnection(inbound: false, Remote)!;
        established.SetPeer(PeerA);
        Assert.Equal(2, manager.System.Connections);

        var refused = Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: false, Remote));
        Assert.Equal(ResourceScopeKind.System, refused.Scope);
        Assert.Equal("connections", refused.Resource);
        Assert.Equal(2, refused.Limit);
        Assert.Contains("the system scope is at its limit of 2 connections", refused.Message);
        Assert.Equal(1, manager.System.Blocked);
        Assert.Equal(1, manager.Transient.Usage().ConnectionsInbound); // the refused one gave its transient slot back
        Assert.Equal(0, manager.Transient.Usage().ConnectionsOutbound);

        pending.Dispose(); // a pending one leaving makes room, as an established one does
        using var third = manager.OpenConnection(inbound: false, Remote);
        third.Dispose();
        established.Dispose();
        AssertAllEmpty(manager);
    }

    [Fact]
    public async Task At_the_system_limit_an_async_open_asks_the_relief_which_frees_one_and_only_a_final_refusal_counts()
    {
        var manager = Manager(o => o with { System = o.System with { Connections = 1 } });
        var idle = manager.OpenConnection(inbound: false, Remote);
        idle.SetPeer(PeerA);
        var asked = new List<bool>();
        manager.Relief = (inbound, _) =>
        {
            asked.Add(inbound);
            if (idle is null)
                return ValueTask.FromResult(false);
            idle.Dispose(); // the owner closed its idle connection: its slot is back
            idle = null;
            return ValueTask.FromResult(true);
        };

        using var admitted = await manager.OpenConnectionAsync(inbound: true, Remote, CancellationToken.None);
        Assert.Equal([true], asked);
        Assert.Equal(0, manager.System.Blocked); // relieved: nothing refused
        Assert.Equal(1, manager.System.Usage().ConnectionsInbound);

        var refused = await Assert.ThrowsAsync<ResourceLimitExceededException>(() => manager.OpenConnectionAsync(inbound: false, Remote, CancellationToken.None).AsTask());
        Assert.Equal(ResourceScopeKind.System, refused.Scope);
        Assert.Equal([true, false], asked);
        Assert.Equal(1, manager.System.Blocked);
        Assert.Equal(0, manager.Transient.Usage().ConnectionsOutbound); // the refused open gave its pending slot back
        // The synchronous open never asks: it refuses at once.
        Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: false, Remote));
        Assert.Equal([true, false], asked);
        admitted.Dispose();
        AssertAllEmpty(manager);
    }

    [Fact]
    public void A_peer_limit_counts_connections_and_streams_per_peer()
    {
        var manager = Manager(o => o with { PeerDefault = new ResourceLimits { Connections = 1, StreamsInbound = 2 } });
        using var a = manager.OpenConnection(inbound: true, Remote)!;
        a.SetPeer(PeerA);
        using var again = manager.OpenConnection(inbound: true, Remote)!;
        Assert.Equal(ResourceScopeKind.Peer, Assert.Throws<ResourceLimitExceededException>(() => again.SetPeer(PeerA)).Scope);

        using var s1 = a.OpenStream(inbound: true);
        using var s2 = a.OpenStream(inbound: true);
        var third = Assert.Throws<ResourceLimitExceededException>(() => a.OpenStream(inbound: true));
        Assert.Equal(PeerA.ToString(), third.ScopeName);
        Assert.Contains($"the peer scope {PeerA} is at its limit of 2 inbound streams", third.Message);
        using var outbound = a.OpenStream(inbound: false); // the limit is per direction
        Assert.Equal(2, manager.FindPeer(PeerA)!.Blocked);
    }

    [Fact]
    public void A_protocol_limit_refuses_the_stream_past_it_and_names_the_protocol()
    {
        var manager = Manager();
        manager.SetLimits(ResourceScopeKind.Protocol, new ResourceLimits { StreamsInbound = 8 }, "/ipfs/ping/1.0.0");
        using var connection = manager.OpenConnection(inbound: true, Remote)!;
        connection.SetPeer(PeerA);
        var streams = Enumerable.Range(0, 8).Select(_ => connection.OpenStream(inbound: true)).ToList();
        foreach (var s in streams)
            s.SetProtocol("/ipfs/ping/1.0.0");
        using var ninth = connection.OpenStream(inbound: true);
        var refused = Assert.Throws<ResourceLimitExceededException>(() => ninth.SetProtocol("/ipfs/ping/1.0.0"));
        Assert.Equal("/ipfs/ping/1.0.0", refused.ScopeName);
        Assert.Contains("protocol scope /ipfs/ping/1.0.0 is at its limit of 8 inbound streams", refused.Message);
        Assert.Null(ninth.Protocol);
        ninth.SetProtocol("/ipfs/id/1.0.0"); // another protocol has room
        Assert.Equal(1, manager.FindProtocol("/ipfs/ping/1.0.0")!.Blocked);
        streams[0].Dispose();
        using var connection2 = manager.OpenConnection(inbound: true, Remote)!;
        connection2.SetPeer(PeerB);
        using var after = connection2.OpenStream(inbound: true);
        after.SetProtocol("/ipfs/ping/1.0.0"); // a slot came back
        foreach (var s in streams)
            s.Dispose();
    }

    [Fact]
    public void Memory_is_reserved_in_every_scope_of_the_stream_and_refused_past_the_smallest_limit()
    {
        var manager = Manager(o => o with { Stream = new ResourceLimits { MemoryBytes = 64 * 1024 } });
        using var connection = manager.OpenConnection(inbound: false, Remote)!;
        connection.SetPeer(PeerA);
        using var stream = connection.OpenStream(inbound: false);
        stream.SetProtocol("/x/1");
        Assert.Null(stream.TryReserveMemory(32 * 1024));
        Assert.Null(stream.TryReserveMemory(32 * 1024));
        var refused = stream.TryReserveMemory(1);
        Assert.NotNull(refused);
        Assert.Equal(ResourceScopeKind.Stream, refused.Scope);
        Assert.Equal("bytes of memory", refused.Resource);
        // Nothing of the refused byte stayed anywhere.
        Assert.Equal(64 * 1024, manager.System.Usage().MemoryBytes);
        Assert.Equal(64 * 1024, manager.FindPeer(PeerA)!.Usage().MemoryBytes);
        Assert.Equal(64 * 1024, manager.FindProtocol("/x/1")!.Usage().MemoryBytes);
        stream.ReleaseMemory(32 * 1024);
        Assert.Equal(32 * 1024, connection.Self.Usage().MemoryBytes);
        stream.Dispose(); // gives back the rest
        Assert.Equal(0, manager.System.Usage().MemoryBytes);
        Assert.Equal(0, manager.FindProtocol("/x/1")!.Usage().MemoryBytes);
    }

    [Fact]
    public void A_peer_memory_limit_spans_its_streams()
    {
        var manager = Manager(o => o with { PeerDefault = o.PeerDefault with { MemoryBytes = 100 } });
        using var connection = manager.OpenConnection(inbound: true, Remote)!;
        connection.SetPeer(PeerA);
        using var s1 = connection.OpenStream(inbound: true);
        using var s2 = connection.OpenStream(inbound: true);
        Assert.Null(s1.TryReserveMemory(60));
        var refused = s2.TryReserveMemory(60);
        Assert.Equal(ResourceScopeKind.Peer, refused!.Scope);
        Assert.Equal(0, s2.MemoryBytes);
        Assert.Equal(60, connection.Self.Usage().MemoryBytes); // undone in the scopes before the peer's too
    }

    [Fact]
    public void The_process_memory_bound_refuses_new_connections_both_ways_while_over_and_rereads_after_100_ms()
    {
        var time = new FakeTimeProvider();
        long rss = 500;
        var manager = Manager(o => o with { MaxProcessMemoryBytes = 400 }, time, rss: () => rss);
        var seen = new List<ResourceLimitExceededException>();
        manager.Blocked += seen.Add;
        var inbound = Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: true, Remote));
        Assert.Equal(ResourceScopeKind.Process, inbound.Scope);
        Assert.Contains("500 bytes of memory, over its limit of 400", inbound.Message);
        Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: false, Remote));
        rss = 300;
        Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: false, Remote)); // stale for 100 ms
        time.Advance(TimeSpan.FromMilliseconds(100));
        using var ok = manager.OpenConnection(inbound: false, Remote);
        Assert.Equal(3, manager.ProcessBlocked);
        Assert.Equal(3, seen.Count);
        manager.SetMaxProcessMemory(null);
        rss = 10_000;
        time.Advance(TimeSpan.FromSeconds(1));
        using var unbounded = manager.OpenConnection(inbound: true, Remote);
    }

    [Fact]
    public void Inbound_connections_per_subnet_are_counted_pending_and_open_and_freed_on_dispose()
    {
        var manager = Manager(o => o with { InboundSubnets = new InboundSubnetLimits { MaxConnectionsPerSubnet = 2, Exempt = [] } }, maxPending: 1);
        var a1 = manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse("198.51.100.7"), 1))!;
        // The pending count (the old per-address handshake cap) is 1: a second handshake from the same /32 waits its turn.
        var pending = Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse("198.51.100.7"), 2)));
        Assert.Equal(ResourceScopeKind.Subnet, pending.Scope);
        Assert.Equal("198.51.100.7/32", pending.ScopeName);
        Assert.Equal("pending inbound connections", pending.Resource);
        a1.SetPeer(PeerA);
        var a2 = manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse("198.51.100.7"), 3))!;
        a2.SetPeer(PeerB);
        var open = Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse("198.51.100.7"), 4)));
        Assert.Equal("inbound connections", open.Resource);
        Assert.Contains("the subnet scope 198.51.100.7/32 is at its limit of 2 inbound connections", open.Message);
        using var other = manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse("198.51.100.8"), 1)); // another /32
        using var outbound = manager.OpenConnection(inbound: false, new IPEndPoint(IPAddress.Parse("198.51.100.7"), 5)); // inbound only
        a1.Dispose();
        using var again = manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse("198.51.100.7"), 6));
        a2.Dispose();
    }

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("::ffff:198.51.100.1", "198.51.100.1", true)]
    [InlineData("198.51.100.1", "198.51.100.2", false)]
    [InlineData("::1", "0.0.0.1", false)]
    [InlineData("::", "0.0.0.0", false)]
    public void Subnets_are_IPv4_32_and_IPv6_64_by_default(string a, string b, bool same)
    {
        var manager = Manager(o => o with { InboundSubnets = new InboundSubnetLimits { MaxConnectionsPerSubnet = 1, Exempt = [] } });
        using var first = manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse(a), 1));
        if (same)
            Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse(b), 1)));
        else
            manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse(b), 1))!.Dispose();
    }

    [Fact]
    public void A_wider_prefix_groups_a_whole_subnet()
    {
        var manager = Manager(o => o with { InboundSubnets = new InboundSubnetLimits { IPv4PrefixLength = 24, MaxConnectionsPerSubnet = 1, Exempt = [] } });
        using var first = manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse("203.0.113.5"), 1));
        var refused = Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse("203.0.113.99"), 1)));
        Assert.Equal("203.0.113.0/24", refused.ScopeName);
    }

    [Fact]
    public void The_subnet_rate_allows_a_burst_then_refills_at_its_rate()
    {
        var time = new FakeTimeProvider();
        var manager = Manager(o => o with { InboundSubnets = new InboundSubnetLimits { Burst = 3, ConnectionsPerSecond = 0.5, MaxConnectionsPerSubnet = 100, Exempt = [] } }, time, maxPending: 100);
        var address = new IPEndPoint(IPAddress.Parse("198.51.100.20"), 1);
        for (int i = 0; i < 3; i++)
            manager.OpenConnection(inbound: true, address)!.Dispose();
        var refused = Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: true, address));
        Assert.Contains("refilled at 0.5/s", refused.Message);
        time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: true, address));
        time.Advance(TimeSpan.FromSeconds(0.2)); // 2 s since the burst: one token
        manager.OpenConnection(inbound: true, address)!.Dispose();
        Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: true, address));
        manager.OpenConnection(inbound: true, new IPEndPoint(IPAddress.Parse("198.51.100.21"), 1))!.Dispose(); // another subnet's own bucket
    }

    [Fact]
    public void Loopback_is_exempt_from_the_subnet_count_and_rate_by_default_but_not_from_the_pending_count()
    {
        var manager = Manager(o => o with { InboundSubnets = new InboundSubnetLimits { MaxConnectionsPerSubnet = 1, Burst = 1 } }, maxPending: 2);
        var loopback = new IPEndPoint(IPAddress.Loopback, 1);
        var scopes = new List<ConnectionScope>();
        for (int i = 0; i < 2; i++)
        {
            var s = manager.OpenConnection(inbound: true, loopback)!;
            scopes.Add(s);
        }
        Assert.Equal("pending inbound connections", Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: true, loopback)).Resource);
        scopes[0].SetPeer(PeerA);
        scopes[1].SetPeer(PeerB);
        for (int i = 0; i < 5; i++)
        {
            var s = manager.OpenConnection(inbound: true, loopback)!;
            s.SetPeer(NodeIdentity.Create().PeerId);
            scopes.Add(s);
        }
        scopes.ForEach(s => s.Dispose());
        AssertAllEmpty(manager);
    }

    [Fact]
    public void An_allowlisted_address_bypasses_the_system_transient_and_subnet_limits_but_not_its_peers()
    {
        var manager = Manager(o => o with
        {
            System = o.System with { Connections = 0 },
            Transient = new ResourceLimits { Connections = 0 },
            InboundSubnets = new InboundSubnetLimits { MaxConnectionsPerSubnet = 1, Exempt = [] },
            PeerDefault = o.PeerDefault with { Connections = 1 },
            Allowlist = ["/ip4/10.1.0.0/ipcidr/16"],
        });
        var stranger = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1);
        Assert.Equal(ResourceScopeKind.Transient, Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: true, stranger)).Scope);
        var friend = new IPEndPoint(IPAddress.Parse("10.1.2.3"), 1);
        using var a = manager.OpenConnection(inbound: true, friend)!;
        Assert.True(a.IsAllowlisted);
        a.SetPeer(PeerA);
        using var b = manager.OpenConnection(inbound: true, friend)!; // past the subnet count too
        Assert.Equal(ResourceScopeKind.Peer, Assert.Throws<ResourceLimitExceededException>(() => b.SetPeer(PeerA)).Scope);
        b.SetPeer(PeerB);
        Assert.Equal(2, manager.System.Usage().ConnectionsInbound); // counted, never refused
    }

    [Fact]
    public void An_allowlist_entry_with_a_peer_exempts_only_that_peer_once_its_handshake_proved_it()
    {
        var manager = Manager(o => o with
        {
            System = o.System with { Connections = 0 },
            Allowlist = [$"/ip4/10.9.9.9/p2p/{PeerA}"],
        });
        var there = new IPEndPoint(IPAddress.Parse("10.9.9.9"), 1);
        using var right = manager.OpenConnection(inbound: true, there)!;
        right.SetPeer(PeerA);
        using var wrong = manager.OpenConnection(inbound: true, there)!;
        Assert.True(wrong.IsAllowlisted); // not yet known to be another peer
        Assert.Equal(ResourceScopeKind.System, Assert.Throws<ResourceLimitExceededException>(() => wrong.SetPeer(PeerB)).Scope);
        Assert.False(wrong.IsAllowlisted);
    }

    [Fact]
    public void The_allowlist_changes_live()
    {
        var manager = Manager(o => o with { Transient = new ResourceLimits { Connections = 0 } });
        var address = new IPEndPoint(IPAddress.Parse("172.16.5.5"), 1);
        Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: false, address));
        Assert.True(manager.Allowlist.Add("172.16.0.0/12"));
        Assert.False(manager.Allowlist.Add("/ip4/172.16.0.0/ipcidr/12")); // the same entry
        manager.OpenConnection(inbound: false, address)!.Dispose();
        Assert.True(manager.Allowlist.Remove("172.16.0.0/12"));
        Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: false, address));
    }

    [Theory]
    [InlineData("/ip4/1.2.3.4", "1.2.3.4", true)]
    [InlineData("/ip4/1.2.3.4", "1.2.3.5", false)]
    [InlineData("/ip4/1.2.3.99/ipcidr/24", "1.2.3.200", true)]
    [InlineData("10.0.0.0/8", "10.255.1.1", true)]
    [InlineData("10.0.0.0/8", "11.0.0.1", false)]
    [InlineData("/ip6/2001:db8::/ipcidr/32", "2001:db8:ffff::1", true)]
    [InlineData("2001:db8::1", "2001:db8::2", false)]
    [InlineData("/ip4/192.0.2.1", "::ffff:192.0.2.1", true)]
    [InlineData("::ffff:10.0.0.0/104", "10.1.2.3", true)]   // found by the property test below: a mapped network is IPv4's
    [InlineData("/ip6/::ffff:10.0.0.124", "10.0.0.124", true)]
    public void Allowlist_entries_parse_as_multiaddrs_cidrs_or_addresses(string entry, string address, bool covered)
    {
        Assert.Equal(covered, AllowlistEntry.Parse(entry).Contains(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/ip4/1.2.3.4/tcp/1")]
    [InlineData("/ip4/::1")]
    [InlineData("/ip4/1.2.3.4/ipcidr/33")]
    [InlineData("/ip4/1.2.3.4/p2p/notapeer")]
    [InlineData("/dns4/example.com")]
    [InlineData("300.1.1.1/8")]
    public void Bad_allowlist_entries_are_refused_with_a_format_error(string entry)
    {
        var ex = Assert.Throws<FormatException>(() => AllowlistEntry.Parse(entry));
        Assert.Contains("allowlist entry", ex.Message);
    }

    [Fact]
    public void Limits_set_live_apply_to_the_next_reservation_and_peer_overrides_beat_the_default()
    {
        var manager = Manager();
        using var c = manager.OpenConnection(inbound: true, Remote)!;
        c.SetPeer(PeerA);
        using var s1 = c.OpenStream(inbound: true);
        manager.SetLimits(ResourceScopeKind.Peer, new ResourceLimits { StreamsInbound = 1 });
        Assert.Throws<ResourceLimitExceededException>(() => c.OpenStream(inbound: true));
        manager.SetLimits(ResourceScopeKind.Peer, new ResourceLimits { StreamsInbound = 3 }, PeerA.ToString());
        using var s2 = c.OpenStream(inbound: true);
        manager.SetLimits(ResourceScopeKind.Peer, new ResourceLimits { StreamsInbound = 0 }); // the default no longer applies to A
        using var s3 = c.OpenStream(inbound: true);
        Assert.Equal(3, manager.GetLimits(ResourceScopeKind.Peer, PeerA.ToString()).StreamsInbound);
        Assert.Equal(0, manager.GetLimits(ResourceScopeKind.Peer).StreamsInbound);
        Assert.Throws<ArgumentOutOfRangeException>(() => manager.SetLimits(ResourceScopeKind.System, new ResourceLimits { Streams = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => manager.SetLimits(ResourceScopeKind.Stream, new ResourceLimits()));
    }

    [Fact]
    public void Defaults_scale_with_the_memory_budget_as_go_libp2p_does()
    {
        var small = new ResourceManagerOptions(64L << 20);   // below 128 MiB: the base
        var base128 = new ResourceManagerOptions(128L << 20);
        var large = new ResourceManagerOptions(4L << 30);    // 4 GiB of budget
        Assert.Equal(base128.Transient, small.Transient);
        Assert.Equal(128L << 20, small.System.MemoryBytes);
        Assert.Equal(4L << 30, large.System.MemoryBytes);
        Assert.Equal(128 + 64 * 4, large.Transient.ConnectionsInbound);
        Assert.Equal(2048 + 512 * 4, large.PeerDefault.StreamsInbound);
        Assert.Equal((256L << 20) + (128L << 20) * 4, large.PeerDefault.MemoryBytes);
        Assert.Equal(8, large.PeerDefault.Connections); // not scaled, as go's
        Assert.True(new ResourceManagerOptions().MemoryBudgetBytes >= 128L << 20);
    }

    [Fact]
    public void Disabled_accounting_keeps_only_the_system_connection_count_and_its_limit()
    {
        // Off, the seed's contract still holds: MaxConnections (the system scope's limit) is enforced; nothing else is counted.
        var manager = Manager(o => o with
        {
            Enabled = false,
            System = o.System with { Connections = 1 },
            Transient = new ResourceLimits { Connections = 0 },
            PeerDefault = new ResourceLimits { Connections = 0 },
        });
        var scope = manager.OpenConnection(inbound: true, Remote);
        scope.SetPeer(PeerA); // the peer scope (limit 0) is not asked
        Assert.Null(scope.ForStreams); // the muxer's streams reserve nowhere
        Assert.Equal(1, manager.System.Usage().ConnectionsInbound);
        Assert.Equal(0, manager.Transient.Usage().ConnectionsInbound);
        Assert.Null(manager.FindPeer(PeerA));
        Assert.Equal(ResourceScopeKind.System, Assert.Throws<ResourceLimitExceededException>(() => manager.OpenConnection(inbound: false, Remote)).Scope);
        scope.Dispose();
        scope.Dispose();
        AssertAllEmpty(manager);
        manager.OpenConnection(inbound: false, Remote).Dispose();
    }

    [Fact]
    public void Blocked_reservations_are_counted_per_scope_and_raised_once_each()
    {
        var manager = Manager(o => o with { PeerDefault = new ResourceLimits { StreamsOutbound = 0 } });
        var seen = new List<(ResourceScopeKind, string)>();
        manager.Blocked += e => seen.Add((e.Scope, e.ScopeName));
        using var c = manager.OpenConnection(inbound: false, Remote)!;
        c.SetPeer(PeerA);
        Assert.Throws<ResourceLimitExceededException>(() => c.OpenStream(inbound: false));
        Assert.Throws<ResourceLimitExceededException>(() => c.OpenStream(inbound: false));
        Assert.Equal([(ResourceScopeKind.Peer, PeerA.ToString()), (ResourceScopeKind.Peer, PeerA.ToString())], seen);
        Assert.Equal(2, manager.GetUsage(ResourceScopeKind.Peer).Single().Blocked);
    }

    [Fact]
    public void Under_concurrent_churn_every_count_returns_to_zero()
    {
        var manager = Manager(o => o with
        {
            PeerDefault = new ResourceLimits { Connections = 3, StreamsInbound = 5, MemoryBytes = 1 << 20 },
            System = o.System with { Connections = 20 },
        });
        var peers = Enumerable.Range(0, 6).Select(i => NodeIdentity.FromEd25519Seed(Enumerable.Repeat((byte)(10 + i), 32).ToArray()).PeerId).ToArray();
        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var random = new Random(i);
            ConnectionScope? c = null;
            var streams = new List<StreamScope>();
            try
            {
                c = manager.OpenConnection(inbound: random.Next(2) == 0, new IPEndPoint(IPAddress.Parse($"10.0.{i % 7}.{i % 13}"), 1));
                c!.SetPeer(peers[random.Next(peers.Length)]);
                for (int s = 0; s < random.Next(4); s++)
                {
                    var stream = c.OpenStream(inbound: true);
                    streams.Add(stream);
                    if (random.Next(2) == 0)
                        stream.SetProtocol("/p/" + random.Next(3));
                    stream.TryReserveMemory(random.Next(1, 70_000));
                }
                if (random.Next(2) == 0)
                    c.Dispose(); // the connection may go before its streams
                foreach (var stream in streams)
                    stream.ReleaseMemory(random.Next(0, (int)stream.MemoryBytes + 1));
            }
            catch (ResourceLimitExceededException)
            {
            }
            finally
            {
                foreach (var stream in streams)
                    stream.Dispose();
                c?.Dispose();
            }
        });
        AssertAllEmpty(manager);
        Assert.Empty(manager.GetUsage(ResourceScopeKind.Peer)); // every peer scope went with its last holder
    }
}

/// <summary>The allowlist's text decoder under random input: only FormatException, and what parses round-trips.</summary>
public sealed class AllowlistEntryPropertyTests
{
    private static readonly string[] Pieces = ["/", "ip4", "ip6", "ipcidr", "p2p", "ipfs", "tcp", "1.2.3.4", "::1", "2001:db8::", "::ffff:10.0.0.1",
        "0", "8", "24", "32", "33", "128", "129", "-1", ".", ":", "12D3KooWGNwqpRycvzoyNjk1FXpmpj129fh9NkDPfs9wgGidnGSq", " ", "x"];

    [Fact]
    public void Random_entries_are_refused_with_FormatException_or_round_trip()
    {
        Gen.Int[0, Pieces.Length - 1].Array[0, 9]
            .Select(indices => string.Concat(indices.Select(i => Pieces[i])))
            .Sample(text => ResourcesFuzzEntry.AllowlistEntryText(System.Text.Encoding.UTF8.GetBytes(text)), iter: 20_000);
    }
}
