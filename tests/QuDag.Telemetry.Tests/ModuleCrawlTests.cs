using System.Management.Automation;
using QuDag.Host;

namespace QuDag.Telemetry.Tests;

/// <summary>
/// Invoke-QuDagCrawl in a hosted runspace, where what a console shows can be read: its progress records and its table
/// view, over two embedded QuDag.PS nodes (DHT off: dialable peers that are DHT clients).
/// </summary>
public sealed class ModuleCrawlTests
{
    [Fact]
    public void The_crawl_reports_progress_and_formats_its_results_as_a_table()
    {
        var text = new StringWriter();
        using var runspace = QuDagRunspace.Open(new TextHost(text, text, plainText: true));
        using var ps = PowerShell.Create(runspace);
        ps.AddScript("""
            $nodes = 'crawl-a', 'crawl-b' | ForEach-Object { Start-QuDagListener -Session (New-QuDagSession -Name $_) }
            $results = Invoke-QuDagCrawl -Bootstrap ($nodes | ForEach-Object Address)
            $results | Out-String -Width 160
            $results
            Get-QuDagSession -Name 'crawl-*' | Remove-QuDagSession
            """);

        var output = ps.Invoke();

        Assert.Empty(ps.Streams.Error);
        var table = (string)output[0].BaseObject;
        Assert.Matches(@"PeerId\s+DhtMode\s+Dial\s+Address\s+AgentVersion\s+Neighbours\s+ConnectMs\s+CrawlMs", table);
        Assert.Matches(@"12\*\w{6}\s+Client\s+dialable\s+/ip4/127\.0\.0\.1/tcp/\d+\s+qudag-ps/", table);
        var results = output.Skip(1).Select(o => o.BaseObject).ToList();
        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Equal("QuDag.PowerShell.QuDagCrawlResult", r.GetType().FullName));

        var progress = ps.Streams.Progress.Where(p => p.Activity == "Crawling the QuDAG network").ToList();
        // One record per result as it is written (the counts are the crawl's at that moment, which may be ahead), then Completed.
        var processing = progress.Where(p => p.RecordType == ProgressRecordType.Processing).ToList();
        Assert.Equal(2, processing.Count);
        Assert.All(processing, p => Assert.InRange(p.PercentComplete, 0, 100));
        Assert.All(processing, p => Assert.Matches(@"^[12] crawled, [12] dialable, [012] waiting, 2 known$", p.StatusDescription));
        Assert.Equal(ProgressRecordType.Completed, progress[^1].RecordType);
        Assert.StartsWith("2 crawled, 2 dialable", progress[^1].StatusDescription);
    }
}
