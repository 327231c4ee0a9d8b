using System.Management.Automation;
using QuDag.Network.Discovery;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Compares two crawls (Invoke-QuDagCrawl's objects, or what Import-Csv, ConvertFrom-Json or Import-Clixml read back):
/// peers new, gone, and addresses that answer with a new peer id (a QuDAG node restarts with a new key).
/// </summary>
[Cmdlet(VerbsData.Compare, "QuDagCrawl")]
[OutputType(typeof(QuDagCrawlDifference))]
public sealed class CompareQuDagCrawlCommand : QuDagCmdlet
{
    private readonly List<CrawlResult> _current = [];

    /// <summary>The earlier crawl.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [AllowEmptyCollection]
    public PSObject[] Previous { get; set; } = [];

    /// <summary>The later crawl; pipe Invoke-QuDagCrawl into this.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
    [AllowEmptyCollection]
    public PSObject[] Current { get; set; } = [];

    /// <inheritdoc/>
    protected override void BeginProcessing()
    {
        // The crawl needs no session, but -Session names one like every cmdlet's: a closed one is an error here too.
        _ = CurrentSession;
    }

    /// <inheritdoc/>
    protected override void ProcessRecord() => _current.AddRange(Read(Current));

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        foreach (var difference in CrawlComparison.Compare(Read(Previous), _current))
            WriteObject(new QuDagCrawlDifference(difference));
    }

    private List<CrawlResult> Read(IEnumerable<PSObject> items) => CrawlRecords.ReadAll(items, CommandId + "InvalidRecord", WriteError);
}
