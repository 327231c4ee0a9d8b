namespace QuDag.Telemetry;

/// <summary>Settings of a report (<see cref="QuDagTelemetry.WriteReport"/>).</summary>
public sealed class QuDagReportOptions
{
    /// <summary>The page title. Default "QuDag node report".</summary>
    public string Title { get; set; } = "QuDag node report";

    /// <summary>Peers drawn in the RTT-over-time chart, those pinged most recently first (the table lists all). Default 10.</summary>
    public int MaxPeersInChart { get; set; } = 10;

    /// <summary>Peers listed in the table; the rest are counted. Default 500, so a node with thousands stays readable.</summary>
    public int MaxPeersInTable { get; set; } = 500;

    /// <summary>
    /// A crawl (<see cref="QuDag.Network.Discovery.Crawler"/>'s results) to map: the report then adds the network map (peers and
    /// routing-table edges, laid out by MSAGL) and tables of agent versions, protocols, DHT modes and dialability.
    /// </summary>
    public IReadOnlyList<QuDag.Network.Discovery.CrawlResult>? Crawl { get; set; }

    /// <summary>An earlier crawl to compare <see cref="Crawl"/> with: new, gone and changed-identity peers.</summary>
    public IReadOnlyList<QuDag.Network.Discovery.CrawlResult>? PreviousCrawl { get; set; }

    /// <summary>Peers on the map get their short id as a label up to this many; past it the map would be ink. Default 150.</summary>
    public int MaxLabelsOnMap { get; set; } = 150;
}
