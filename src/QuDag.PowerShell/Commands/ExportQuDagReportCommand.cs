using System.Management.Automation;
using QuDag.Telemetry;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Writes a self-contained HTML report of the session: the peer table, a ping-latency histogram, RTT over time per peer,
/// recent connection events, pool and failure counts, and with -Crawl the network map of a crawl. Charts are inline SVG;
/// opening it needs no network.
/// </summary>
[Cmdlet(VerbsData.Export, "QuDagReport", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportQuDagReportCommand : QuDagCmdlet
{
    /// <summary>The HTML file to write (replaced if it exists).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The page's title. Default "QuDag node report".</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Title { get; set; }

    /// <summary>
    /// A crawl to map (Invoke-QuDagCrawl's results, or what Import-Csv, ConvertFrom-Json or Import-Clixml read back): adds
    /// the network map and tables of agent versions, protocols, DHT modes and dialability.
    /// </summary>
    [Parameter]
    public PSObject[]? Crawl { get; set; }

    /// <summary>An earlier crawl: adds the peers new, gone, and changed identity since then. Needs -Crawl.</summary>
    [Parameter]
    public PSObject[]? PreviousCrawl { get; set; }

    /// <summary>Writes the file's FileInfo.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var path = GetUnresolvedProviderPathFromPSPath(Path);
        if (!ShouldProcess(path, "Write QuDag report"))
            return;
        var options = new QuDagReportOptions();
        if (Title is not null)
            options.Title = Title;
        if (PreviousCrawl is not null && Crawl is null)
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-PreviousCrawl is compared with a crawl: pass -Crawl too."),
                CommandId + "CrawlRequired", ErrorCategory.InvalidArgument, null));
            return;
        }
        if (Crawl is not null)
            options.Crawl = ReadCrawl(Crawl);
        if (PreviousCrawl is not null)
            options.PreviousCrawl = ReadCrawl(PreviousCrawl);
        try
        {
            QuDagTelemetry.WriteReport(CurrentSession.Manager, path, options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(new ErrorRecord(ex, CommandId + "WriteFailed", ErrorCategory.WriteError, path));
            return;
        }
        if (PassThru)
            WriteObject(new FileInfo(path));
    }

    private List<QuDag.Network.Discovery.CrawlResult> ReadCrawl(IEnumerable<PSObject> items) =>
        CrawlRecords.ReadAll(items, CommandId + "InvalidCrawlRecord", WriteError);
}
