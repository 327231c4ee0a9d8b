using System.Globalization;
using System.Management.Automation;
using System.Text;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// A live view of the session: redraws a compact table of totals and peers in place every -IntervalSeconds until Ctrl+C
/// or -Count refreshes. When its output goes down a pipe, to a file, or to a host without a terminal, it writes one
/// QuDagMetricsSample per interval instead, so it can be piped.
/// </summary>
[Cmdlet(VerbsCommon.Watch, "QuDagMetrics")]
[OutputType(typeof(QuDagMetricsSample))]
public sealed class WatchQuDagMetricsCommand : QuDagCmdlet
{
    private const string Esc = "\u001b[";
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Seconds between refreshes. Default 2.</summary>
    [Parameter(Position = 0)]
    [Seconds(1, SecondsAttribute.Hour)]
    public int IntervalSeconds { get; set; } = 2;

    /// <summary>Stop after this many refreshes; 0 (the default) runs until Ctrl+C.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int Count { get; set; }

    /// <summary>Write the samples as objects even on a terminal (for example to capture them in a variable).</summary>
    [Parameter]
    public SwitchParameter AsObject { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var session = CurrentSession;
        var inPlace = !AsObject && DrawsInPlace();
        var drawnLines = 0;
        try
        {
            for (var sequence = 1; Count == 0 || sequence <= Count; sequence++)
            {
                var sample = QuDagMetricsSample.Take(session, sequence);
                if (inPlace)
                    drawnLines = Draw(sample, drawnLines);
                else
                    WriteObject(sample);
                if (Count != 0 && sequence == Count)
                    break;
                Await(Task.Delay(TimeSpan.FromSeconds(IntervalSeconds), StopToken));
            }
        }
        finally
        {
            if (drawnLines > 0)
                Host.UI.Write(Esc + "?25h"); // the cursor comes back, also after Ctrl+C
        }
    }

    /// <summary>
    /// In place only when this is the last command (its output goes to the host, not down a pipe), the host renders
    /// virtual-terminal sequences, and stdout is a terminal rather than a file.
    /// </summary>
    private bool DrawsInPlace() =>
        MyInvocation.PipelinePosition >= MyInvocation.PipelineLength
        && Host.UI.SupportsVirtualTerminal
        && !Console.IsOutputRedirected;

    /// <summary>Draws the frame over the previous one (cursor up, clear each line); returns the lines drawn.</summary>
    private int Draw(QuDagMetricsSample s, int previousLines)
    {
        var (width, height) = WindowSize();
        var lines = new List<string>
        {
            $"QuDag {s.Session} {PeerIdArgument.Short(s.PeerId)}  {s.Timestamp:HH:mm:ss}  refresh {s.Sequence}{(Count > 0 ? "/" + Count : "")} every {IntervalSeconds}s  (Ctrl+C stops)",
            string.Create(Invariant, $"Connections {s.Connections} active, {s.IdleConnections} idle, {s.OpenConnections}/{s.MaxConnections} open   Peers {s.ConnectedPeers}/{s.TrackedPeers} connected, {s.FailedPeers} failed"),
            string.Create(Invariant, $"Messages {s.MessagesPerSecond:0.##}/s ({s.MessagesSent} sent, {s.MessagesReceived} received)   Ping p50 {s.LatencyP50Ms:0.###} ms p95 {s.LatencyP95Ms:0.###} ms ({s.PingCount})   Pool {s.PoolHits} hit/{s.PoolMisses} miss   Failed {s.FailedConnects} out/{s.FailedInbound} in"),
            "",
            $"{"PeerId",-9}  {"Status",-12}  {"Latency(ms)",11}  {"Pool",-4}  Endpoint",
        };
        var rows = Math.Max(1, height - lines.Count - 2);
        foreach (var p in s.Peers.Take(rows))
        {
            var latency = p.LatencyMs is { } ms ? ms.ToString("0.###", Invariant) : "";
            lines.Add($"{p.ShortId,-9}  {p.Status,-12}  {latency,11}  {(p.Pooled ? "idle" : ""),-4}  {p.Endpoint}");
        }
        if (s.Peers.Count > rows)
            lines.Add($"(+{s.Peers.Count - rows} more peers)");

        var frame = new StringBuilder();
        if (previousLines == 0)
            frame.Append(Esc).Append("?25l"); // no cursor flicker while redrawing
        else
            frame.Append(Esc).Append(previousLines.ToString(Invariant)).Append('F'); // to the start of the first line drawn
        foreach (var line in lines)
        {
            // Cut at the window's width: a wrapped line would throw the line count, and the next frame, off.
            frame.Append(Esc).Append("2K").Append(line.Length < width ? line : line[..(width - 1)]).Append('\n');
        }
        frame.Append(Esc).Append('J'); // clear what a longer previous frame left below
        Host.UI.Write(frame.ToString());
        return lines.Count;
    }

    private (int Width, int Height) WindowSize()
    {
        try
        {
            var size = Host.UI.RawUI.WindowSize;
            return (Math.Max(40, size.Width), Math.Max(10, size.Height));
        }
        catch (Exception ex) when (ex is NotImplementedException or NotSupportedException or System.Management.Automation.Host.HostException)
        {
            return (120, 30);
        }
    }
}
