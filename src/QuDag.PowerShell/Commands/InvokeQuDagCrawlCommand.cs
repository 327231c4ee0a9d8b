using System.Management.Automation;
using QuDag.Network.Discovery;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Maps a QuDAG (libp2p) network: breadth-first from the bootstrap addresses, each peer dialed, identified and, when
/// it serves the DHT, its whole routing table read; every peer a table names is visited in turn. One result per peer
/// streams out as its visit ends, with a progress bar. The crawl runs through a host of its own, so the session's
/// peer table, pool and limits are untouched.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "QuDagCrawl")]
[OutputType(typeof(QuDagCrawlResult))]
public sealed class InvokeQuDagCrawlCommand : QuDagCmdlet
{
    private readonly List<Multiaddr> _bootstrap = [];

    /// <summary>Where to start: multiaddrs (a /p2p part names the peer expected there) or host:port.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Address")]
    [ValidateNotNullOrEmpty]
    public string[] Bootstrap { get; set; } = [];

    /// <summary>Peers visited at once. Default 64.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 64;

    /// <summary>How long one dial, and one request (identify, FIND_NODE), may take, in seconds. Default 10.</summary>
    [Parameter]
    [Seconds(1, SecondsAttribute.Hour)]
    public int TimeoutSeconds { get; set; } = 10;

    /// <summary>Peers the crawl will know at most; more are counted and not visited. Default 100,000.</summary>
    [Parameter]
    [ValidateRange(1, 10_000_000)]
    public int MaxPeers { get; set; } = 100_000;

    /// <summary>The kad protocol id. Default /ipfs/kad/1.0.0 (QuDAG's and IPFS's).</summary>
    [Parameter]
    [ValidatePattern("^/")]
    public string DhtProtocol { get; set; } = "/ipfs/kad/1.0.0";

    /// <inheritdoc/>
    protected override void BeginProcessing()
    {
        // The crawl needs no session, but -Session names one like every cmdlet's: a closed one is an error here too.
        _ = CurrentSession;
    }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        foreach (var text in Bootstrap)
        {
            try
            {
                var parsed = AddressArgument.ParseAddress(text);
                _bootstrap.Add(Multiaddr.Parse(AddressArgument.FormatMultiaddr(parsed.EndPoint, parsed.PeerId)!));
            }
            catch (QuDagArgumentException ex)
            {
                WriteError(ex, text);
            }
        }
    }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        if (_bootstrap.Count == 0)
            return;
        var crawler = new Crawler(new CrawlerOptions
        {
            Concurrency = ThrottleLimit,
            DialTimeout = TimeSpan.FromSeconds(TimeoutSeconds),
            RequestTimeout = TimeSpan.FromSeconds(TimeoutSeconds),
            MaxPeers = MaxPeers,
            KadProtocol = DhtProtocol,
        });
        WriteVerbose($"Crawling from {_bootstrap.Count} bootstrap address(es) as {crawler.LocalPeerId}.");
        var results = crawler.CrawlAsync(_bootstrap, StopToken).GetAsyncEnumerator(StopToken);
        try
        {
            while (Await(results.MoveNextAsync().AsTask()))
            {
                WriteObject(new QuDagCrawlResult(results.Current));
                Progress(crawler.Progress, done: false);
            }
            foreach (var failure in crawler.BootstrapFailures)
            {
                WriteError(new ErrorRecord(new InvalidOperationException($"Bootstrap {failure.Address} did not answer: {failure.Message}"),
                    CommandId + "BootstrapUnreachable", ErrorCategory.ConnectionError, failure.Address.ToString()));
            }
            var progress = crawler.Progress;
            if (progress.Dropped > 0)
                WriteWarning($"The crawl knew {MaxPeers} peers (-MaxPeers) and left {progress.Dropped} more unvisited.");
            WriteVerbose($"Crawled {progress.Crawled} peers, {progress.Dialable} dialable.");
        }
        finally
        {
            Progress(crawler.Progress, done: true);
            // Stopping the enumeration stops the crawl and closes its connections, whatever ended it (Ctrl+C, Select -First).
            results.DisposeAsync().AsTask().GetAwaiter().GetResult();
            crawler.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private void Progress(CrawlProgress progress, bool done)
    {
        var record = new ProgressRecord(1, "Crawling the QuDAG network",
            $"{progress.Crawled} crawled, {progress.Dialable} dialable, {progress.Pending} waiting, {progress.Known} known");
        if (done)
            record.RecordType = ProgressRecordType.Completed;
        else
            record.PercentComplete = (int)(100L * progress.Crawled / Math.Max(1, progress.Crawled + progress.Pending));
        WriteProgress(record);
    }
}
