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
}
