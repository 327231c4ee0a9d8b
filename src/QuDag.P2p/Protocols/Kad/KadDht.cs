using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using QuDag.P2p.Identity;
using QuDag.P2p.Muxing;
using QuDag.P2p.Protocols.Kad.Routing;
using QuDag.P2p.Protocols.Kad.Store;
using QuDag.P2p.Upgrade;

namespace QuDag.P2p.Protocols.Kad;

/// <summary>
/// A Kademlia DHT node (libp2p kad-dht, wire compatible with rust-libp2p and js-libp2p): a routing table of k-buckets,
/// iterative lookups (closest peers, a peer's addresses, values, providers), a bounded record and provider store, the
/// server side of every message, bootstrap and periodic bucket refresh, and republishing of what this node put or
/// provides. It reaches peers through an <see cref="IKadNetwork"/> the node around it implements; whether it serves is
/// that node's choice (it registers <see cref="ServeAsync"/> as the stream handler of <see cref="KadOptions.ProtocolId"/>
/// only in server mode, which is also what makes identify announce the protocol).
/// </summary>
public sealed class KadDht : IAsyncDisposable
{
    private readonly ConcurrentDictionary<PeerId, int> _inboundPerPeer = new();
    private readonly ConcurrentDictionary<string, KadRecord> _published = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _provided = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private ITimer? _refreshTimer, _republishTimer;
    private int _inbound, _refreshing, _disposed;
    private long _requestsSent, _requestsFailed, _requestsServed, _requestsRefused;

    public KadDht(PeerId localPeer, IKadNetwork network, KadOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (!localPeer.IsValid)
            throw new ArgumentException("The local peer id is default(PeerId).", nameof(localPeer));
        Options = options ?? new KadOptions();
        Options.Validate();
        LocalPeer = localPeer;
        Network = network;
        Time = timeProvider ?? TimeProvider.System;
        RoutingTable = new RoutingTable(localPeer, Options.K, Options.MaxPeersPerIpGroup, Time);
        Records = new RecordStore(Options.MaxRecords, Options.MaxKeySize, Options.MaxValueSize, Options.RecordTtl, Time);
        Providers = new ProviderStore(Options.MaxProviderKeys, Options.K, Options.MaxKeySize, Options.RecordTtl, Time);
    }

    public PeerId LocalPeer { get; }

    public KadOptions Options { get; }

    public RoutingTable RoutingTable { get; }

    public RecordStore Records { get; }

    public ProviderStore Providers { get; }

    internal IKadNetwork Network { get; }

    internal TimeProvider Time { get; }

    /// <summary>Requests this node sent, those that failed (timeout, refused, malformed answer), requests it answered, and inbound streams it refused (over a limit).</summary>
    public (long Sent, long Failed, long Served, long Refused) Counters =>
        (Interlocked.Read(ref _requestsSent), Interlocked.Read(ref _requestsFailed), Interlocked.Read(ref _requestsServed), Interlocked.Read(ref _requestsRefused));

    // ---- membership -----------------------------------------------------------------------------------------------

    /// <summary>
    /// A peer that serves the DHT (identify listed our protocol id): it joins the routing table with the addresses it
    /// listens on; <paramref name="seenAt"/> is the IP of its connection (its diversity group).
    /// </summary>
    public RoutingTableUpdate AddPeer(PeerId peer, IReadOnlyList<Multiaddr> listenAddresses, IPAddress? seenAt) =>
        RoutingTable.TryAdd(peer, listenAddresses.Select(a => a.WithoutPeerId()).Distinct().ToArray(), seenAt);

    /// <summary>A peer that stopped serving the DHT leaves the routing table.</summary>
    public bool RemovePeer(PeerId peer) => RoutingTable.Remove(peer);

    internal void OnResponded(KadPeer peer, IPAddress? seenAt)
    {
        // It answered a kad request, so it serves the DHT. Its listen addresses: those it was known by, else the ones
        // the table has.
        IReadOnlyList<Multiaddr> addresses = peer.Addresses;
        if (addresses.Count == 0)
            addresses = RoutingTable.Find(peer.Id)?.Addresses ?? [];
        RoutingTable.TryAdd(peer.Id, addresses, seenAt);
    }

    internal void OnRequestFailed(PeerId peer) => RoutingTable.Remove(peer);

    internal void CountFailedRequest() => Interlocked.Increment(ref _requestsFailed);

    // ---- the server -----------------------------------------------------------------------------------------------

    /// <summary>
    /// Serves one inbound stream (the stream handler of <see cref="KadOptions.ProtocolId"/>): answers each request until
    /// the remote closes its side, at most <see cref="KadOptions.MaxRequestsPerStream"/>, each within the request timeout.
    /// Over <see cref="KadOptions.MaxInboundStreams"/> (or the per-peer limit) the stream is reset at once.
    /// </summary>
    public async Task ServeAsync(MuxedStream stream, P2pConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(connection);
        var remote = connection.RemotePeer;
        if (!TryEnterInbound(remote))
        {
            Interlocked.Increment(ref _requestsRefused);
            stream.Reset();
            return;
        }
        try
        {
            for (int i = 0; i < Options.MaxRequestsPerStream; i++)
            {
                using var deadline = new CancellationTokenSource(Options.RequestTimeout, Time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token, _stopping.Token);
                var request = await KadProtocol.ReadAsync(stream, Options.MaxMessageSize, linked.Token).ConfigureAwait(false);
                if (request is null)
                    return;
                var response = Answer(request, remote);
                Interlocked.Increment(ref _requestsServed);
                if (response is not null)
                    await KadProtocol.WriteAsync(stream, response, linked.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            ExitInbound(remote);
        }
    }

    private bool TryEnterInbound(PeerId peer)
    {
        if (Interlocked.Increment(ref _inbound) > Options.MaxInboundStreams)
        {
            Interlocked.Decrement(ref _inbound);
            return false;
        }
        int mine = _inboundPerPeer.AddOrUpdate(peer, 1, static (_, n) => n + 1);
        if (mine <= Options.MaxInboundStreamsPerPeer)
            return true;
        ExitInbound(peer);
        return false;
    }

    private void ExitInbound(PeerId peer)
    {
        Interlocked.Decrement(ref _inbound);
        if (_inboundPerPeer.AddOrUpdate(peer, 0, static (_, n) => n - 1) <= 0)
            _inboundPerPeer.TryRemove(new KeyValuePair<PeerId, int>(peer, 0));
    }

    /// <summary>
    /// The answer to one request from <paramref name="from"/>, or null for one that has none (ADD_PROVIDER).
    /// Throws <see cref="P2pProtocolException"/> for a request the spec makes no sense of (the stream is then reset).
    /// </summary>
    internal KadMessage? Answer(KadMessage request, PeerId from)
    {
        switch (request.Type)
        {
            case KadMessageType.Ping:
                return request; // deprecated; js-libp2p echoes it (rust closes the stream)
            case KadMessageType.FindNode:
                return Sized(new KadMessage { Type = KadMessageType.FindNode, Key = request.Key, CloserPeers = CloserPeers(request.Key, from) });
            case KadMessageType.GetValue:
                RequireKey(request);
                return Sized(new KadMessage
                {
                    Type = KadMessageType.GetValue,
                    Key = request.Key,
                    Record = Records.Get(request.Key),
                    CloserPeers = CloserPeers(request.Key, from),
                });
            case KadMessageType.PutValue:
                var record = request.Record ?? throw new P2pProtocolException($"Peer {from} sent PUT_VALUE without a record.");
                if (!record.Key.AsSpan().SequenceEqual(request.Key))
                    throw new P2pProtocolException($"Peer {from} sent PUT_VALUE whose record key differs from the message key.");
                var refusal = Records.Put(record with { Publisher = record.Publisher });
                if (refusal != RecordRefusal.None)
                    throw new P2pProtocolException($"Refused a record from {from}: {refusal}.");
                return request; // the spec: echo the request
            case KadMessageType.GetProviders:
                RequireKey(request);
                return Sized(new KadMessage
                {
                    Type = KadMessageType.GetProviders,
                    Key = request.Key,
                    ProviderPeers = Providers.Get(request.Key),
                    CloserPeers = CloserPeers(request.Key, from),
                });
            case KadMessageType.AddProvider:
                RequireKey(request);
                // Only the sender may announce itself, and only with an address to be reached at (as js and go).
                foreach (var provider in request.ProviderPeers)
                {
                    if (provider.Id == from && provider.Addresses.Count > 0)
                        Providers.Add(request.Key, provider);
                }
                return null;
            default:
                throw new P2pProtocolException($"Unsupported Kademlia message type {request.Type}.");
        }
    }

    private static void RequireKey(KadMessage request)
    {
        if (request.Key.Length == 0)
            throw new P2pProtocolException($"A {request.Type} request without a key.");
    }

    private KadPeer[] CloserPeers(byte[] key, PeerId requester) =>
        RoutingTable.Closest(KadKey.FromBytes(key), Options.K, requester).Select(e => new KadPeer(e.Id, e.Addresses)).ToArray();

    /// <summary>Keeps an answer within rust's 16 KiB packet limit by dropping the farthest closer peers.</summary>
    private static KadMessage Sized(KadMessage message)
    {
        while (message.ToProtobuf().Length > KadProtocol.RustMaxMessageSize - 8 && message.CloserPeers.Count > 0)
            message = message with { CloserPeers = message.CloserPeers.Take(message.CloserPeers.Count - 1).ToArray() };
        return message;
    }

    // ---- lookups --------------------------------------------------------------------------------------------------

    private Task<KadLookupResult> LookupAsync(ReadOnlySpan<byte> key, KadMessage request, Func<KadPeer, KadMessage, bool>? stopWhen,
        IEnumerable<KadPeer>? extraSeeds, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var target = KadKey.FromBytes(key);
        var seeds = RoutingTable.Closest(target, Options.K).Select(e => new KadPeer(e.Id, e.Addresses));
        if (extraSeeds is not null)
            seeds = extraSeeds.Concat(seeds);
        var lookup = new KadLookup(this, target, request, stopWhen);
        return RunCountedAsync(lookup, seeds, cancellationToken);
    }

    private async Task<KadLookupResult> RunCountedAsync(KadLookup lookup, IEnumerable<KadPeer> seeds, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        var result = await lookup.RunAsync(seeds, linked.Token).ConfigureAwait(false);
        Interlocked.Add(ref _requestsSent, result.Queried);
        return result;
    }

    /// <summary>The k peers closest to <paramref name="key"/> that answered (FIND_NODE lookups), nearest first.</summary>
    public async Task<IReadOnlyList<KadPeer>> GetClosestPeersAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default) =>
        (await LookupAsync(key.Span, KadMessage.FindNode(key.Span), null, null, cancellationToken).ConfigureAwait(false)).Closest;

    /// <summary>
    /// A peer with the addresses the DHT knows for it: from the routing table, else a FIND_NODE lookup for its id that
    /// stops as soon as someone names it with an address (or it answers itself). Null when nobody knows it.
    /// </summary>
    public async Task<KadPeer?> FindPeerAsync(PeerId peer, CancellationToken cancellationToken = default)
    {
        if (RoutingTable.Find(peer) is { Addresses.Count: > 0 } known)
            return new KadPeer(peer, known.Addresses);
        KadPeer? found = null;
        var request = KadMessage.FindNode(peer.Bytes);
        var result = await LookupAsync(peer.Bytes, request, (responder, response) =>
        {
            if (responder.Id == peer && responder.Addresses.Count > 0)
                found = responder;
            foreach (var closer in response.CloserPeers)
            {
                if (closer.Id == peer && closer.Addresses.Count > 0)
                    found = closer;
            }
            return found is not null;
        }, null, cancellationToken).ConfigureAwait(false);
        found ??= result.Closest.FirstOrDefault(p => p.Id == peer);
        return found is null ? null : new KadPeer(peer, found.Addresses);
    }

    /// <summary>A record: this node's own store first, else a GET_VALUE lookup that stops at the first record for the key.</summary>
    public async Task<KadRecord?> GetValueAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default)
    {
        if (Records.Get(key.Span) is { } local)
            return local;
        byte[] bytes = key.ToArray();
        KadRecord? found = null;
        await LookupAsync(bytes, new KadMessage { Type = KadMessageType.GetValue, Key = bytes }, (_, response) =>
        {
            if (response.Record is { } record && record.Key.AsSpan().SequenceEqual(bytes))
                found = record;
            return found is not null;
        }, null, cancellationToken).ConfigureAwait(false);
        return found;
    }

    /// <summary>
    /// Stores a record here and at the k peers closest to its key (PUT_VALUE); it is published again every
    /// <see cref="KadOptions.RepublishInterval"/>. Returns how many peers accepted it.
    /// </summary>
    /// <exception cref="ArgumentException">The key or value is over this node's limits.</exception>
    public async Task<int> PutValueAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        var record = new KadRecord { Key = key.ToArray(), Value = value.ToArray(), TimeReceived = KadRecord.FormatTime(Time.GetUtcNow()) };
        var refusal = Records.Put(record);
        if (refusal != RecordRefusal.None)
            throw new ArgumentException($"The record cannot be stored: {refusal} (keys up to {Options.MaxKeySize} bytes, values up to {Options.MaxValueSize}).", nameof(value));
        _published[Convert.ToBase64String(record.Key)] = record;
        return await PublishAsync(record, cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> PublishAsync(KadRecord record, CancellationToken cancellationToken)
    {
        var closest = await GetClosestPeersAsync(record.Key, cancellationToken).ConfigureAwait(false);
        var request = new KadMessage { Type = KadMessageType.PutValue, Key = record.Key, Record = record };
        var results = await Task.WhenAll(closest.Select(peer => SendToAsync(peer, request, cancellationToken))).ConfigureAwait(false);
        return results.Count(ok => ok);
    }

    /// <summary>
    /// Announces this node as a provider of <paramref name="key"/> (a multihash, as CIDs are keyed) here and at the k
    /// closest peers (ADD_PROVIDER, with our listen addresses); announced again every <see cref="KadOptions.RepublishInterval"/>.
    /// Returns how many peers it was sent to.
    /// </summary>
    public async Task<int> ProvideAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default)
    {
        byte[] bytes = key.ToArray();
        var self = new KadPeer(LocalPeer, Network.ListenAddresses.Select(a => a.WithoutPeerId()));
        if (!Providers.Add(bytes, self))
            throw new ArgumentException($"The provider key cannot be stored (keys up to {Options.MaxKeySize} bytes, {Options.MaxProviderKeys} keys).", nameof(key));
        _provided[Convert.ToBase64String(bytes)] = bytes;
        return await AnnounceAsync(bytes, self, cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> AnnounceAsync(byte[] key, KadPeer self, CancellationToken cancellationToken)
    {
        var closest = await GetClosestPeersAsync(key, cancellationToken).ConfigureAwait(false);
        var request = new KadMessage { Type = KadMessageType.AddProvider, Key = key, ProviderPeers = [self] };
        var results = await Task.WhenAll(closest.Select(peer => SendToAsync(peer, request, cancellationToken))).ConfigureAwait(false);
        return results.Count(ok => ok);
    }

    /// <summary>Up to <paramref name="count"/> providers of <paramref name="key"/>: this node's store, then a GET_PROVIDERS lookup.</summary>
    public async Task<IReadOnlyList<KadPeer>> GetProvidersAsync(ReadOnlyMemory<byte> key, int count = 20, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        byte[] bytes = key.ToArray();
        var found = new Dictionary<PeerId, KadPeer>();
        foreach (var local in Providers.Get(bytes))
            found.TryAdd(local.Id, local);
        if (found.Count >= count)
            return found.Values.Take(count).ToArray();
        await LookupAsync(bytes, new KadMessage { Type = KadMessageType.GetProviders, Key = bytes }, (_, response) =>
        {
            foreach (var provider in response.ProviderPeers.Take(Options.K))
                found.TryAdd(provider.Id, provider);
            return found.Count >= count;
        }, null, cancellationToken).ConfigureAwait(false);
        return found.Values.Take(count).ToArray();
    }

    /// <summary>Sends one request to a peer (PUT_VALUE expects its echo; ADD_PROVIDER has no answer); false if it failed.</summary>
    private async Task<bool> SendToAsync(KadPeer peer, KadMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requestsSent);
        using var deadline = new CancellationTokenSource(Options.RequestTimeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token, _stopping.Token);
        try
        {
            return await Network.ExchangeAsync(peer.Id, peer.Addresses, Options.ProtocolId, async (stream, _, ct) =>
            {
                if (request.Type == KadMessageType.AddProvider)
                {
                    await KadProtocol.SendAsync(stream, request, Options.RequestTimeout, Time, ct).ConfigureAwait(false);
                    return true;
                }
                await KadProtocol.RequestAsync(stream, request, Options.RequestTimeout, Options.MaxMessageSize, Time, ct).ConfigureAwait(false);
                return true;
            }, linked.Token).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _requestsFailed);
            return false;
        }
    }

    // ---- bootstrap, refresh, republish ----------------------------------------------------------------------------

    /// <summary>
    /// Joins the DHT through <paramref name="peers"/> (multiaddrs ending in <c>/p2p/&lt;id&gt;</c>): a lookup of our own id
    /// that starts at them (those that answer join the table), then a refresh of every bucket. Returns the table's size.
    /// </summary>
    public async Task<int> BootstrapAsync(IEnumerable<Multiaddr> peers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peers);
        peers = peers.ToArray();
        var seeds = new List<KadPeer>();
        foreach (var address in peers)
        {
            var id = address.PeerId ?? throw new ArgumentException($"The bootstrap address {address} does not name its peer: end it with /p2p/<peer id>.", nameof(peers));
            seeds.Add(new KadPeer(id, [address.WithoutPeerId()]));
        }
        await LookupAsync(LocalPeer.Bytes, KadMessage.FindNode(LocalPeer.Bytes), null, seeds, cancellationToken).ConfigureAwait(false);
        if (RoutingTable.Count > 0)
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return RoutingTable.Count;
    }

    /// <summary>
    /// Refreshes the table (the spec's bootstrap process): a lookup of our own id, then one of a random key in each
    /// non-empty bucket (up to common prefix length 15, as go: deeper ones cost too many tries to hit and hold few peers).
    /// Also drops expired records and providers.
    /// </summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        Records.RemoveExpired();
        Providers.RemoveExpired();
        if (RoutingTable.Count == 0 && Options.BootstrapPeers.Count > 0)
        {
            await BootstrapAsync(Options.BootstrapPeers, cancellationToken).ConfigureAwait(false);
            return;
        }
        await GetClosestPeersAsync(LocalPeer.Bytes.ToArray(), cancellationToken).ConfigureAwait(false);
        foreach (int cpl in RoutingTable.NonEmptyBuckets.Where(c => c <= 15))
        {
            if (RandomKeyInBucket(cpl) is { } key)
                await GetClosestPeersAsync(key, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A random peer id (a SHA-256 multihash) whose key shares exactly <paramref name="cpl"/> bits with ours.</summary>
    internal byte[]? RandomKeyInBucket(int cpl)
    {
        Span<byte> candidate = stackalloc byte[34];
        candidate[0] = 0x12;
        candidate[1] = 0x20;
        for (int attempt = 0; attempt < 1 << 20; attempt++)
        {
            RandomNumberGenerator.Fill(candidate[2..]);
            if (RoutingTable.LocalKey.CommonPrefixLength(KadKey.FromBytes(candidate)) == cpl)
                return candidate.ToArray();
        }
        return null;
    }

    /// <summary>Publishes this node's own records and provider announcements again (what the republish timer runs).</summary>
    public async Task RepublishAsync(CancellationToken cancellationToken = default)
    {
        foreach (var record in _published.Values)
        {
            Records.Put(record);
            await PublishAsync(record, cancellationToken).ConfigureAwait(false);
        }
        var self = new KadPeer(LocalPeer, Network.ListenAddresses.Select(a => a.WithoutPeerId()));
        foreach (var key in _provided.Values)
        {
            Providers.Add(key, self);
            await AnnounceAsync(key, self, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Starts the timers: bucket refresh every <see cref="KadOptions.RefreshInterval"/>, republishing every <see cref="KadOptions.RepublishInterval"/>.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Options.RefreshInterval > TimeSpan.Zero)
            _refreshTimer ??= Time.CreateTimer(_ => RunInBackground(RefreshAsync), null, Options.RefreshInterval, Options.RefreshInterval);
        _republishTimer ??= Time.CreateTimer(_ => RunInBackground(RepublishAsync), null, Options.RepublishInterval, Options.RepublishInterval);
    }

    private void RunInBackground(Func<CancellationToken, Task> work)
    {
        // One background job at a time: a slow refresh is not stacked up by the next tick.
        if (Interlocked.Exchange(ref _refreshing, 1) != 0)
            return;
        _ = Task.Run(async () =>
        {
            try
            {
                await work(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                // Stopping.
            }
            catch (Exception ex)
            {
                Trace.TraceWarning("QuDag.P2p: a DHT refresh or republish failed: {0}", ex.Message);
            }
            finally
            {
                Volatile.Write(ref _refreshing, 0);
            }
        });
    }

    /// <summary>Stops the timers and every lookup in flight.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _stopping.Cancel();
        if (_refreshTimer is not null)
            await _refreshTimer.DisposeAsync().ConfigureAwait(false);
        if (_republishTimer is not null)
            await _republishTimer.DisposeAsync().ConfigureAwait(false);
    }
}
