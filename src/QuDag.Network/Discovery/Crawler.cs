using System.Runtime.CompilerServices;
using System.Threading.Channels;
using QuDag.P2p;
using QuDag.P2p.Host;
using QuDag.P2p.Protocols.Identify;
using QuDag.P2p.Upgrade;

namespace QuDag.Network.Discovery;

/// <summary>What a crawl has done so far; read at any time from any thread.</summary>
public readonly record struct CrawlProgress(int Crawled, int Dialable, int Pending, int Known, int Dropped);

/// <summary>A bootstrap address without a /p2p part that never answered: no peer id to report a result under.</summary>
public sealed record CrawlBootstrapFailure(Multiaddr Address, CrawlError Error, string Message);

/// <summary>
/// Maps a libp2p network as Nebula does: breadth-first from bootstrap addresses, each peer dialed, identified, and,
/// when it serves kad, its whole routing table read with FIND_NODE; every peer a table names is visited in turn.
/// Results stream as visits end, one per peer.
/// <para>
/// It crawls through a host of its own, not through a <see cref="ConnectionManager"/>: a crawl opens and closes a
/// connection per peer, thousands of them, and the manager would keep each in its peer table and pool, count it
/// against its limits, ping it, and open circuits on the failures a crawl expects. Its host listens nowhere and
/// serves no kad, so the peers it asks do not put it in their tables. Memory is bounded by
/// <see cref="CrawlerOptions.MaxPeers"/>: a visited peer costs its id; results are the caller's to keep or not.
/// </para>
/// </summary>
public sealed class Crawler : IAsyncDisposable
{
    /// <summary>One FIND_NODE over a connection: the closer peers the remote answers for a key.</summary>
    internal delegate Task<IReadOnlyList<CrawlContact>> FindNodeCall(P2pConnection connection, string protocol, byte[] key, CancellationToken cancellationToken);

    private readonly CrawlerOptions _options;
    private readonly P2pHost _host;
    private readonly FindNodeCall _findNode;
    private readonly TimeProvider _time;
    private readonly RoutingTableWalk _walk;
    private int _running;
    private int _crawled, _dialable, _pending;
    private CrawlFrontier? _frontier;
    private System.Collections.Concurrent.ConcurrentQueue<CrawlBootstrapFailure> _bootstrapFailures = new();

    /// <summary>Creates a crawler with its own host (a fresh key unless <see cref="CrawlerOptions.Identity"/> is set).</summary>
    public Crawler(CrawlerOptions? options = null) : this(options, KadFindNode.FindNodeAsync)
    {
    }

    internal Crawler(CrawlerOptions? options, FindNodeCall findNode)
    {
        _options = options ?? new CrawlerOptions();
        _options.Validate();
        _findNode = findNode;
        _time = _options.TimeProvider;
        _host = new P2pHost(new P2pHostOptions
        {
            Identity = _options.Identity,
            Security = _options.Security,
            ConnectTimeout = _options.DialTimeout,
            StreamNegotiationTimeout = _options.RequestTimeout,
            IdentifyOnConnect = true,
            TimeProvider = _time,
        });
        _walk = new RoutingTableWalk(_options.BucketSize, _options.MaxDepth, _options.MaxRequestsPerPeer,
            _options.ParallelRequestsPerPeer, _options.MaxNeighbours);
    }

    /// <summary>The crawler's own peer id (what the crawled peers see).</summary>
    public PeerId LocalPeerId => _host.LocalPeerId;

    /// <summary>The settings in force.</summary>
    public CrawlerOptions Options => _options;

    /// <summary>The running (or last) crawl's counts.</summary>
    public CrawlProgress Progress => new(Volatile.Read(ref _crawled), Volatile.Read(ref _dialable), Volatile.Read(ref _pending),
        _frontier?.Known ?? 0, _frontier?.Dropped ?? 0);

    /// <summary>The running (or last) crawl's bare bootstrap addresses that never answered (those with a /p2p part are results).</summary>
    public IReadOnlyList<CrawlBootstrapFailure> BootstrapFailures => [.. _bootstrapFailures];

    /// <summary>
    /// Crawls from <paramref name="bootstrap"/> (multiaddrs; a /p2p part names the peer expected there) until every peer
    /// found is visited, streaming one result per peer as its visit ends. Stopping the enumeration (or cancelling)
    /// stops the crawl and closes its connections. One crawl at a time per crawler.
    /// </summary>
    public async IAsyncEnumerable<CrawlResult> CrawlAsync(IEnumerable<Multiaddr> bootstrap, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bootstrap);
        var seeds = bootstrap.ToList();
        if (seeds.Count == 0)
            throw new ArgumentException("Name at least one bootstrap address.", nameof(bootstrap));
        if (Interlocked.Exchange(ref _running, 1) != 0)
            throw new InvalidOperationException("This crawler is already crawling; start another crawler for a second crawl.");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = new Run(this, stop.Token);
        Task workers = Task.CompletedTask;
        try
        {
            _crawled = _dialable = 0;
            _bootstrapFailures = new();
            _frontier = run.Frontier;
            foreach (var seed in seeds)
                run.Seed(seed);
            workers = run.StartAsync();
            await foreach (var result in run.Results.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return result;
            await workers.ConfigureAwait(false);
        }
        finally
        {
            stop.Cancel();
            await workers.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Volatile.Write(ref _pending, 0);
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>Closes every connection the crawler holds.</summary>
    public ValueTask DisposeAsync() => _host.DisposeAsync();

    /// <summary>One crawl: the frontier, the visit queue, the workers and the results they stream.</summary>
    private sealed class Run(Crawler crawler, CancellationToken cancellationToken)
    {
        private readonly Channel<CrawlTarget> _queue = Channel.CreateUnbounded<CrawlTarget>(new UnboundedChannelOptions { SingleWriter = false });
        // Bounded: a consumer that reads slowly slows the workers, it does not fill memory with finished results.
        private readonly Channel<CrawlResult> _results = Channel.CreateBounded<CrawlResult>(new BoundedChannelOptions(256) { SingleReader = true });
        private int _outstanding;

        public CrawlFrontier Frontier { get; } = new(crawler._options.MaxPeers, crawler._options.MaxAddressesPerPeer);

        public ChannelReader<CrawlResult> Results => _results.Reader;

        public void Seed(Multiaddr address)
        {
            var target = address.PeerId is { } id ? Frontier.Offer(id, [address]) : new CrawlTarget(null) { Addresses = { address } };
            if (target is not null)
                Enqueue(target);
        }

        public async Task StartAsync()
        {
            var workers = new Task[crawler._options.Concurrency];
            for (int i = 0; i < workers.Length; i++)
                workers[i] = Task.Run(WorkAsync, CancellationToken.None);
            try
            {
                await Task.WhenAll(workers).ConfigureAwait(false);
                _results.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                _results.Writer.TryComplete(ex is OperationCanceledException ? null : ex);
                throw;
            }
        }

        private void Enqueue(CrawlTarget target)
        {
            Interlocked.Increment(ref _outstanding);
            Interlocked.Increment(ref crawler._pending);
            _queue.Writer.TryWrite(target);
        }

        private async Task WorkAsync()
        {
            await foreach (var target in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    if (await VisitAsync(target).ConfigureAwait(false) is { } result)
                    {
                        Interlocked.Increment(ref crawler._crawled);
                        if (result.Dialable)
                            Interlocked.Increment(ref crawler._dialable);
                        await _results.Writer.WriteAsync(result, cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref crawler._pending);
                    // The last visit out, with nothing queued behind it, ends the crawl.
                    if (Interlocked.Decrement(ref _outstanding) == 0)
                        _queue.Writer.TryComplete();
                }
            }
        }

        private void Learn(IEnumerable<CrawlContact> contacts)
        {
            foreach (var contact in contacts)
            {
                if (contact.PeerId != crawler.LocalPeerId && Frontier.Offer(contact.PeerId, contact.Addresses) is { } target)
                    Enqueue(target);
            }
        }

        /// <summary>One peer: dial, identify, read its table. Null when another visit has the peer already.</summary>
        private async Task<CrawlResult?> VisitAsync(CrawlTarget target)
        {
            if (!Frontier.TryTake(target, out var addresses))
                return null;
            var options = crawler._options;
            var time = crawler._time;
            var started = time.GetUtcNow();
            long start = time.GetTimestamp();
            P2pConnection? connection = null;
            Exception? lastError = null;
            Multiaddr? dialed = null;
            PeerId? answeredBy = null;
            double connectMs = 0;
            foreach (var address in addresses.Where(a => a.TryGetEndPoint(out _)).Take(options.MaxDialsPerPeer))
            {
                dialed = address;
                address.TryGetEndPoint(out var endPoint);
                long dialStart = time.GetTimestamp();
                try
                {
                    using var timer = new CancellationTokenSource(options.DialTimeout, time);
                    using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
                    connection = await crawler._host.DialAsync(endPoint!, target.PeerId, deadline.Token).ConfigureAwait(false);
                    connectMs = time.GetElapsedTime(dialStart).TotalMilliseconds;
                    break;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (PeerIdMismatchException ex)
                {
                    // The address is someone else's now (a QuDAG node restarts with a new key): that peer is a find too.
                    lastError = ex;
                    answeredBy = ex.Actual;
                    if (ex.Actual != crawler.LocalPeerId && Frontier.Offer(ex.Actual, [address]) is { } other)
                        Enqueue(other);
                }
                catch (Exception ex)
                {
                    lastError = ex;
                }
            }
            var peerId = target.PeerId ?? connection?.RemotePeer;
            if (connection is null)
            {
                // A bare bootstrap address that never answered has no peer id to report under.
                if (peerId is not { } failedId)
                {
                    crawler._bootstrapFailures.Enqueue(new CrawlBootstrapFailure(addresses[0],
                        lastError is null ? CrawlError.NoDialableAddress : CrawlErrors.OfDial(lastError),
                        lastError?.Message ?? "The address is not TCP over ip4, ip6 or dns."));
                    return null;
                }
                return new CrawlResult
                {
                    PeerId = failedId,
                    Addresses = addresses,
                    DialedAddress = dialed,
                    Error = lastError is null ? CrawlError.NoDialableAddress : CrawlErrors.OfDial(lastError),
                    ErrorMessage = lastError?.Message ?? "None of the peer's addresses is TCP over ip4, ip6 or dns.",
                    AnsweredBy = answeredBy,
                    CrawlMs = time.GetElapsedTime(start).TotalMilliseconds,
                    CrawledAt = started,
                };
            }
            await using (connection.ConfigureAwait(false))
            {
                if (target.PeerId is null && !Frontier.Claim(connection.RemotePeer))
                    return null;
                return await ReadPeerAsync(connection, addresses, dialed!, started, start, connectMs).ConfigureAwait(false);
            }
        }

        private async Task<CrawlResult> ReadPeerAsync(P2pConnection connection, Multiaddr[] addresses, Multiaddr dialed,
            DateTimeOffset started, long start, double connectMs)
        {
            var options = crawler._options;
            // Nebula's order: the table is read while identify is still on its way, so a visit costs a round trip
            // less. A peer without kad refuses the walk's first stream ("na") and is asked nothing more.
            var identifying = IdentifyAsync(connection);
            var walking = crawler._walk.RunAsync((key, ct) => FindNodeAsync(connection, key, ct), cancellationToken);
            var (identify, identifyError) = await identifying.ConfigureAwait(false);
            var walk = await walking.ConfigureAwait(false);
            Learn(walk.Neighbours);

            // Answers decide; then identify's list of protocols; then the refusal of the walk's stream.
            bool answered = walk.Requests > walk.FailedRequests;
            var mode = answered ? CrawlDhtMode.Server
                : identify is not null ? (identify.Protocols.Contains(options.KadProtocol) ? CrawlDhtMode.Server : CrawlDhtMode.Client)
                : walk.FirstError is ProtocolNotSupportedException ? CrawlDhtMode.Client
                : CrawlDhtMode.Unknown;
            // A client's refusal is no error; a server (or a peer unknown) that answered nothing is.
            var error = identifyError ?? (answered || mode == CrawlDhtMode.Client ? null : walk.FirstError);

            return new CrawlResult
            {
                PeerId = connection.RemotePeer,
                Addresses = MergeAddresses(addresses, identify, options.MaxAddressesPerPeer),
                DialedAddress = dialed,
                Dialable = true,
                Error = error is null ? CrawlError.None : CrawlErrors.OfRequest(error),
                ErrorMessage = error?.Message,
                AgentVersion = identify?.AgentVersion,
                ProtocolVersion = identify?.ProtocolVersion,
                Protocols = identify?.Protocols ?? [],
                DhtMode = mode,
                Neighbours = walk.Neighbours.Select(n => n.PeerId).ToArray(),
                RoutingTableComplete = answered && walk.Complete,
                Requests = walk.Requests,
                ConnectMs = connectMs,
                CrawlMs = crawler._time.GetElapsedTime(start).TotalMilliseconds,
                CrawledAt = started,
            };
        }

        /// <summary>What the peer says of itself, or why it did not say it; the crawl's own stop still throws.</summary>
        private async Task<(IdentifyMessage?, Exception?)> IdentifyAsync(P2pConnection connection)
        {
            try
            {
                using var timer = new CancellationTokenSource(crawler._options.RequestTimeout, crawler._time);
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
                return (await crawler._host.IdentifyAsync(connection, deadline.Token).ConfigureAwait(false), null);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                return (null, ex);
            }
        }

        private async Task<IReadOnlyList<CrawlContact>> FindNodeAsync(P2pConnection connection, byte[] key, CancellationToken ct)
        {
            // The deadline covers the stream's negotiation and the exchange, on the crawler's clock.
            using var timer = new CancellationTokenSource(crawler._options.RequestTimeout, crawler._time);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
            return await crawler._findNode(connection, crawler._options.KadProtocol, key, deadline.Token).ConfigureAwait(false);
        }

        private static Multiaddr[] MergeAddresses(Multiaddr[] known, IdentifyMessage? identify, int max)
        {
            var merged = new List<Multiaddr>(known);
            foreach (var bytes in identify?.ListenAddrs ?? [])
            {
                if (merged.Count >= max)
                    break;
                if (Multiaddr.TryFromBytes(bytes, out var address) && !merged.Contains(address.WithoutPeerId()))
                    merged.Add(address.WithoutPeerId());
            }
            return [.. merged];
        }
    }
}
