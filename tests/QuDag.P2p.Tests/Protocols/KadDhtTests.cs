using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using QuDag.P2p.Host;
using QuDag.P2p.Identity;
using QuDag.P2p.Protocols.Kad;
using QuDag.P2p.Protocols.Kad.Routing;
using QuDag.P2p.Protocols.Kad.Store;

namespace QuDag.P2p.Tests.Protocols;

/// <summary>
/// The DHT over real loopback connections between our own hosts, and against hostile peers: a host whose kad handler
/// a test writes answers what no honest node would (10,000 closer peers, made-up peers, floods), and the routing table
/// and stores under the bounds they promise.
/// </summary>
public sealed class KadDhtTests
{
    private static PeerId RandomPeer()
    {
        byte[] multihash = [0x12, 0x20, .. RandomNumberGenerator.GetBytes(32)];
        return PeerId.FromBytes(multihash);
    }

    private static async Task<(P2pHost Host, KadDht Dht, Multiaddr Address)> ServerAsync(KadOptions? options = null)
    {
        var host = new P2pHost();
        var listener = await host.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var dht = new KadDht(host.LocalPeerId, new HostKadNetwork(host), options);
        host.SetStreamHandler(dht.Options.ProtocolId, dht.ServeAsync);
        return (host, dht, listener.Addresses[0]);
    }

    [Fact]
    public async Task Three_of_our_nodes_find_each_other_and_store_values_and_providers()
    {
        var (h1, d1, a1) = await ServerAsync();
        var (h2, d2, a2) = await ServerAsync();
        var (h3, d3, _) = await ServerAsync();
        await using (h1) await using (h2) await using (h3) await using (d1) await using (d2) await using (d3)
        {
            await d2.BootstrapAsync([a1]);
            await d3.BootstrapAsync([a2]);      // 3 knows 2, which knows 1
            await d1.BootstrapAsync([a2]);      // (a table fills from answers and identify, not from who asks us)
            var found = await d3.FindPeerAsync(h1.LocalPeerId);
            Assert.Equal(a1.WithoutPeerId(), Assert.Single(found!.Addresses));

            Assert.True(await d1.PutValueAsync("k"u8.ToArray(), "v"u8.ToArray()) >= 1);
            Assert.Equal("v"u8.ToArray(), (await d3.GetValueAsync("k"u8.ToArray()))!.Value);

            byte[] key = [0x12, 0x20, .. SHA256.HashData("content"u8)];
            Assert.True(await d3.ProvideAsync(key) >= 1);
            Assert.Equal(h3.LocalPeerId, Assert.Single(await d1.GetProvidersAsync(key, 1)).Id);
        }
    }

    [Fact]
    public async Task A_response_with_10000_closer_peers_is_refused_at_its_length_and_its_sender_counts_as_failed()
    {
        await using var hostile = new P2pHost();
        var listener = await hostile.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var fake = new KadMessage
        {
            Type = KadMessageType.FindNode,
            CloserPeers = [.. Enumerable.Range(0, 10_000).Select(i => new KadPeer(RandomPeer(), [Multiaddr.Parse($"/ip4/203.0.{i / 256 % 256}.{i % 256}/tcp/4001")]))],
        };
        int size = fake.ToProtobuf().Length;
        Assert.True(size > 400_000, $"{size} bytes");
        hostile.SetStreamHandler(KadProtocol.DefaultId, async (stream, _, ct) =>
        {
            await KadProtocol.ReadAsync(stream, 4096, ct);
            await KadProtocol.WriteAsync(stream, fake, ct);
        });
        await using var host = new P2pHost();
        await using var dht = new KadDht(host.LocalPeerId, new HostKadNetwork(host));

        // The call a crawler makes: refused on the length prefix (the 4 GiB case in KadWireTests shows no body is read).
        var connection = await host.DialAsync(listener.Addresses[0]);
        await using (var stream = await connection.OpenStreamAsync(KadProtocol.DefaultId, CancellationToken.None))
        {
            var error = await Assert.ThrowsAsync<P2pProtocolException>(() => KadProtocol.RequestAsync(stream, KadMessage.FindNode(RandomPeer().Bytes), TimeSpan.FromSeconds(10)));
            Assert.Contains($"message of {size} bytes exceeds", error.Message); // the declared length, read from the prefix
        }

        // The DHT's lookup: the peer counts as failed, nothing of its answer is kept.
        await dht.BootstrapAsync([listener.Addresses[0]]);
        Assert.Equal(0, dht.RoutingTable.Count);
        Assert.Equal(0, dht.RoutingTable.PendingCount);
        Assert.True(dht.Counters.Failed >= 1);
    }

    [Fact]
    public async Task A_peer_answering_with_as_many_made_up_peers_as_fit_adds_none_to_the_table_and_the_lookup_stays_bounded()
    {
        await using var hostile = new P2pHost();
        var listener = await hostile.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        // About 1,300 made-up peers in one 64 KiB answer, on public and private addresses, every time it is asked.
        var fake = new KadMessage
        {
            Type = KadMessageType.FindNode,
            CloserPeers = [.. Enumerable.Range(0, 1300).Select(i => new KadPeer(RandomPeer(), [Multiaddr.Parse(i % 2 == 0 ? $"/ip4/203.0.113.{i % 256}/tcp/1" : $"/ip4/10.0.0.{i % 256}/tcp/1")]))],
        };
        Assert.InRange(fake.ToProtobuf().Length, 50_000, KadProtocol.DefaultMaxMessageSize);
        int asked = 0;
        hostile.SetStreamHandler(KadProtocol.DefaultId, async (stream, _, ct) =>
        {
            Interlocked.Increment(ref asked);
            await KadProtocol.ReadAsync(stream, 4096, ct);
            await KadProtocol.WriteAsync(stream, fake, ct);
        });
        await using var host = new P2pHost(new P2pHostOptions { ConnectTimeout = TimeSpan.FromSeconds(1) });
        var options = new KadOptions { RequestTimeout = TimeSpan.FromSeconds(2), QueryTimeout = TimeSpan.FromSeconds(20) };
        await using var dht = new KadDht(host.LocalPeerId, new HostKadNetwork(host), options);

        await dht.BootstrapAsync([listener.Addresses[0]]);

        // Only the hostile peer itself answered: it is the one entry. None of its 1,300 inventions entered the table.
        Assert.Equal(hostile.LocalPeerId, Assert.Single(dht.RoutingTable.Entries).Id);
        Assert.Equal(0, dht.RoutingTable.PendingCount);
    }

    [Fact]
    public void The_routing_table_admits_at_most_two_peers_of_one_public_16_per_bucket_whatever_the_count_offered()
    {
        var table = new RoutingTable(RandomPeer(), k: 20, maxPerGroup: 2);
        var sybil = IPAddress.Parse("203.0.113.7");
        int refused = 0;
        for (int i = 0; i < 10_000; i++)
        {
            if (table.TryAdd(RandomPeer(), [], sybil) == RoutingTableUpdate.RefusedByDiversity)
                refused++;
        }
        // Random ids fill the low buckets first; each admits 2 of the group (entries and replacements together).
        Assert.All(table.NonEmptyBuckets, b => Assert.True(table.Entries.Count(e => table.LocalKey.CommonPrefixLength(e.Key) == b) <= 2));
        Assert.True(table.Count + table.PendingCount <= 2 * table.NonEmptyBuckets.Count);
        Assert.True(refused > 9_900, $"{refused} refused");

        // Loopback and private addresses are in no group: a lab's peers fill a bucket up to k.
        var lab = new RoutingTable(RandomPeer(), k: 20, maxPerGroup: 2);
        for (int i = 0; i < 200; i++)
            lab.TryAdd(RandomPeer(), [], IPAddress.Parse("10.1.2.3"));
        Assert.Equal(20, lab.Entries.Count(e => lab.LocalKey.CommonPrefixLength(e.Key) == 0));
    }

    [Fact]
    public void A_full_bucket_keeps_newcomers_in_its_replacement_cache_and_promotes_one_when_an_entry_leaves()
    {
        var local = RandomPeer();
        var table = new RoutingTable(local, k: 2);
        var inBucket0 = new List<PeerId>();
        while (inBucket0.Count < 4)
        {
            var peer = RandomPeer();
            if (KadKey.ForPeer(local).CommonPrefixLength(KadKey.ForPeer(peer)) == 0)
                inBucket0.Add(peer);
        }
        Assert.Equal(RoutingTableUpdate.Added, table.TryAdd(inBucket0[0], [], null));
        Assert.Equal(RoutingTableUpdate.Added, table.TryAdd(inBucket0[1], [], null));
        Assert.Equal(RoutingTableUpdate.Pending, table.TryAdd(inBucket0[2], [], null));
        Assert.Equal(RoutingTableUpdate.Pending, table.TryAdd(inBucket0[3], [], null));
        Assert.Equal(RoutingTableUpdate.Updated, table.TryAdd(inBucket0[0], [], null));
        Assert.Equal(RoutingTableUpdate.RefusedSelf, table.TryAdd(local, [], null));

        Assert.True(table.Remove(inBucket0[1]));
        Assert.NotNull(table.Find(inBucket0[3]));                        // the newest newcomer took the place
        Assert.Null(table.Find(inBucket0[1]));
        Assert.Equal(2, table.Count);
    }

    [Fact]
    public async Task A_flood_of_kad_streams_is_served_up_to_the_limit_and_the_rest_reset()
    {
        var (server, dht, address) = await ServerAsync(new KadOptions { MaxInboundStreams = 16, MaxInboundStreamsPerPeer = 16 });
        await using (server) await using (dht)
        {
            await using var flooder = new P2pHost();
            var connection = await flooder.DialAsync(address);
            // 100 streams that open and never send a request: each holds a slot until its request timeout.
            var opened = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
            {
                try
                {
                    return await connection.OpenStreamAsync(KadProtocol.DefaultId, CancellationToken.None);
                }
                catch (IOException)
                {
                    return null; // reset before the negotiation's answer was read
                }
            }));
            var streams = opened.OfType<QuDag.P2p.Muxing.MuxedStream>().ToArray();
            var reads = streams.Select(s => s.ReadAsync(new byte[1]).AsTask()).ToArray();
            // 84 of them are reset at once (a reset stream's read fails or ends); 16 are held.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (dht.Counters.Refused < 84 && DateTime.UtcNow < deadline)
                await Task.Delay(20);
            Assert.Equal(84, dht.Counters.Refused);
            Assert.Equal(16, reads.Count(r => !r.IsCompleted));
            foreach (var s in streams)
                s.Reset();
        }
    }

    [Fact]
    public async Task A_put_flood_fills_the_store_to_its_bound_and_oversized_records_are_refused()
    {
        var (server, dht, address) = await ServerAsync(new KadOptions { MaxRecords = 50, MaxValueSize = 1024 });
        await using (server) await using (dht)
        {
            await using var flooder = new P2pHost();
            var connection = await flooder.DialAsync(address);
            int accepted = 0;
            for (int i = 0; i < 200; i++)
            {
                byte[] key = System.Text.Encoding.UTF8.GetBytes($"/flood/{i}");
                var put = new KadMessage { Type = KadMessageType.PutValue, Key = key, Record = new KadRecord { Key = key, Value = new byte[100] } };
                await using var stream = await connection.OpenStreamAsync(KadProtocol.DefaultId, CancellationToken.None);
                try
                {
                    await KadProtocol.RequestAsync(stream, put, TimeSpan.FromSeconds(5));
                    accepted++;
                }
                catch (Exception ex) when (ex is P2pProtocolException or IOException)
                {
                    // Refused: the stream was reset.
                }
            }
            Assert.Equal(50, accepted);
            Assert.Equal(50, dht.Records.Count);

            byte[] big = "/big"u8.ToArray();
            await using var bigStream = await connection.OpenStreamAsync(KadProtocol.DefaultId, CancellationToken.None);
            var oversized = new KadMessage { Type = KadMessageType.PutValue, Key = big, Record = new KadRecord { Key = big, Value = new byte[2048] } };
            await Assert.ThrowsAnyAsync<Exception>(() => KadProtocol.RequestAsync(bigStream, oversized, TimeSpan.FromSeconds(5)));
            Assert.Null(dht.Records.Get(big));
        }
    }

    [Fact]
    public void Records_and_providers_expire_at_their_ttl_and_the_stores_refuse_past_their_bounds()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-27T10:00:00Z"));
        var records = new RecordStore(maxRecords: 2, maxKeyBytes: 8, maxValueBytes: 4, ttl: TimeSpan.FromHours(48), time);
        Assert.Equal(RecordRefusal.None, records.Put(new KadRecord { Key = [1], Value = [1] }));
        Assert.Equal("2026-11-27T10:00:00.000000000Z", records.Get([1])!.TimeReceived);
        Assert.Equal(RecordRefusal.ValueTooLarge, records.Put(new KadRecord { Key = [2], Value = new byte[5] }));
        Assert.Equal(RecordRefusal.KeyTooLong, records.Put(new KadRecord { Key = new byte[9], Value = [1] }));
        Assert.Equal(RecordRefusal.None, records.Put(new KadRecord { Key = [2], Value = [2] }));
        Assert.Equal(RecordRefusal.StoreFull, records.Put(new KadRecord { Key = [3], Value = [3] }));
        time.Advance(TimeSpan.FromHours(48) - TimeSpan.FromTicks(1));
        Assert.NotNull(records.Get([1]));
        time.Advance(TimeSpan.FromTicks(1));
        Assert.Null(records.Get([1]));
        Assert.Equal(RecordRefusal.None, records.Put(new KadRecord { Key = [3], Value = [3] })); // room again

        var providers = new ProviderStore(maxKeys: 1, maxProvidersPerKey: 2, maxKeyBytes: 8, ttl: TimeSpan.FromHours(48), time);
        var (p1, p2, p3) = (RandomPeer(), RandomPeer(), RandomPeer());
        Assert.True(providers.Add([1], new KadPeer(p1, [Multiaddr.Parse("/ip4/1.2.3.4/tcp/1")])));
        Assert.True(providers.Add([1], new KadPeer(p2, Array.Empty<Multiaddr>())));
        Assert.False(providers.Add([1], new KadPeer(p3, Array.Empty<Multiaddr>())));    // per-key bound
        Assert.False(providers.Add([2], new KadPeer(p3, Array.Empty<Multiaddr>())));    // key bound
        time.Advance(TimeSpan.FromHours(48));
        Assert.Empty(providers.Get([1]));
        Assert.True(providers.Add([2], new KadPeer(p3, Array.Empty<Multiaddr>())));
    }

    [Fact]
    public async Task The_server_answers_every_message_type_as_the_spec_says()
    {
        var (server, dht, address) = await ServerAsync();
        await using (server) await using (dht)
        {
            var known = RandomPeer();
            dht.AddPeer(known, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001")], IPAddress.Loopback);
            await using var client = new P2pHost();
            var connection = await client.DialAsync(address);
            async Task<KadMessage> Ask(KadMessage request)
            {
                await using var stream = await connection.OpenStreamAsync(KadProtocol.DefaultId, CancellationToken.None);
                return await KadProtocol.RequestAsync(stream, request, TimeSpan.FromSeconds(5));
            }

            Assert.Equal(known, Assert.Single((await Ask(KadMessage.FindNode(known.Bytes))).CloserPeers).Id);
            Assert.Equal(KadMessageType.Ping, (await Ask(new KadMessage { Type = KadMessageType.Ping })).Type);
            byte[] key = "/x"u8.ToArray();
            var echo = await Ask(new KadMessage { Type = KadMessageType.PutValue, Key = key, Record = new KadRecord { Key = key, Value = [7] } });
            Assert.Equal([7], echo.Record!.Value);
            var got = await Ask(new KadMessage { Type = KadMessageType.GetValue, Key = key });
            Assert.Equal([7], got.Record!.Value);
            Assert.NotNull(got.Record.TimeReceived);

            // ADD_PROVIDER has no answer; only the sender may announce itself, with an address.
            byte[] cid = [0x12, 0x20, .. new byte[32]];
            await using (var stream = await connection.OpenStreamAsync(KadProtocol.DefaultId, CancellationToken.None))
            {
                var add = new KadMessage
                {
                    Type = KadMessageType.AddProvider,
                    Key = cid,
                    ProviderPeers = [new KadPeer(client.LocalPeerId, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/9")]), new KadPeer(known, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/8")])],
                };
                await KadProtocol.SendAsync(stream, add, TimeSpan.FromSeconds(5));
                Assert.Null(await KadProtocol.ReadAsync(stream, 1024, CancellationToken.None)); // the server closes, answering nothing
            }
            var providers = await Ask(new KadMessage { Type = KadMessageType.GetProviders, Key = cid });
            Assert.Equal(client.LocalPeerId, Assert.Single(providers.ProviderPeers).Id);
        }
    }

    [Fact]
    public async Task Own_records_are_published_again_at_the_republish_interval()
    {
        var time = new FakeTimeProvider();
        await using var host = new P2pHost();
        var network = new HostKadNetwork(host);
        await using var dht = new KadDht(host.LocalPeerId, network, new KadOptions { RepublishInterval = TimeSpan.FromHours(22), RecordTtl = TimeSpan.FromHours(48), RefreshInterval = TimeSpan.Zero }, time);
        await dht.PutValueAsync("/mine"u8.ToArray(), new byte[] { 1 });
        dht.Start();
        // The republish at 22 h stores it again (a fresh timeReceived and TTL) and sends it to the closest peers.
        time.Advance(TimeSpan.FromHours(22));
        string republishedAt = KadRecord.FormatTime(time.GetUtcNow());
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (dht.Records.Get("/mine"u8)?.TimeReceived != republishedAt && DateTime.UtcNow < deadline)
            await Task.Delay(10);
        Assert.Equal(republishedAt, dht.Records.Get("/mine"u8)?.TimeReceived);
        time.Advance(TimeSpan.FromHours(27));
        Assert.NotNull(dht.Records.Get("/mine"u8)); // at 49 h: past the first TTL
    }
}
