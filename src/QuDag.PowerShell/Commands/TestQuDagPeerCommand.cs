using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Measures PING/PONG round trips to connected peers; -Quiet answers $true or $false per peer. The peers of one call
/// are pinged concurrently (up to -ThrottleLimit at once), and a ping unanswered within -TimeoutSeconds is a TimedOut
/// result, so one frozen peer neither hangs the call nor holds up the others' pings. Results come in the order the
/// peers were given.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "QuDagPeer")]
[OutputType(typeof(QuDagPingResult), typeof(bool))]
public sealed class TestQuDagPeerCommand : QuDagCmdlet
{
    // One per peer given, in input order: its pings run in Task while earlier peers' results are written.
    private readonly Queue<PeerPings> _pending = new();

    private sealed record PeerPings(string Text, PeerId? Peer, Task<PingOutcome>? Task);

    /// <summary>The results of one peer's pings, and the error that ended them early, if any.</summary>
    private sealed record PingOutcome(IReadOnlyList<QuDagPingResult> Results, Exception? Error);

    /// <summary>The peers to ping; each must be connected.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>Round trips per peer. Default 4 (1 with -Quiet).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; } = 4;

    /// <summary>How long each ping may wait for its answer, in seconds; past it the ping is a TimedOut result. Default 5.</summary>
    [Parameter]
    [Alias("Timeout")]
    [Seconds(1, SecondsAttribute.Hour)]
    public int TimeoutSeconds { get; set; } = 5;

    /// <summary>How many peers are pinged at once. Default 32.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 32;

    /// <summary>Writes $true when every ping of a peer was answered, else $false, and no errors.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    private int Pings => Quiet && !MyInvocation.BoundParameters.ContainsKey(nameof(Count)) ? 1 : Count;

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        foreach (var text in PeerId)
        {
            PeerId? peer;
            if (Quiet)
            {
                peer = PeerIdArgument.TryResolveQuietly(text, CurrentSession);
                if (peer is { } known && manager.GetPeer(known) is null)
                    peer = null;
            }
            else
            {
                // An unknown peer's error is written now, ahead of earlier peers' results: errors go to their own stream.
                peer = ResolveKnownPeer(text);
                if (peer is null)
                    continue;
            }
            while (_pending.Count(p => p.Task is { IsCompleted: false }) >= ThrottleLimit)
                WriteFinished(waitForOne: true);
            _pending.Enqueue(new PeerPings(text, peer, peer is { } p ? PingAsync(manager, p, Pings, TimeSpan.FromSeconds(TimeoutSeconds)) : null));
            WriteFinished(waitForOne: false);
        }
    }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        while (_pending.Count > 0)
            WriteFinished(waitForOne: true);
    }

    /// <summary>One peer's pings, one after another, each bounded by <paramref name="timeout"/>.</summary>
    private async Task<PingOutcome> PingAsync(ConnectionManager manager, PeerId peer, int count, TimeSpan timeout)
    {
        var results = new List<QuDagPingResult>(Math.Min(count, 64));
        for (var i = 1; i <= count; i++)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(StopToken);
            deadline.CancelAfter(timeout);
            try
            {
                results.Add(QuDagPingResult.Answered(peer, i, await manager.PingAsync(peer, deadline.Token).ConfigureAwait(false)));
            }
            catch (OperationCanceledException) when (!StopToken.IsCancellationRequested)
            {
                results.Add(QuDagPingResult.TimedOut(peer, i));
            }
            catch (Exception ex) when (!StopToken.IsCancellationRequested)
            {
                return new PingOutcome(results, ex);
            }
        }
        return new PingOutcome(results, null);
    }

    /// <summary>Writes the results of the peers at the head of the queue whose pings are done, on the pipeline thread.</summary>
    private void WriteFinished(bool waitForOne)
    {
        if (waitForOne && _pending.Count > 0 && _pending.Peek().Task is { IsCompleted: false } head)
        {
            // The head's results go first; while it runs, wait for any ping so the throttle frees a slot.
            var running = _pending.Select(p => p.Task).OfType<Task<PingOutcome>>().Where(t => !t.IsCompleted).ToArray();
            Await(_pending.Count(p => p.Task is { IsCompleted: false }) >= ThrottleLimit ? Task.WhenAny(running) : head);
        }
        while (_pending.Count > 0 && _pending.Peek().Task is null or { IsCompleted: true })
        {
            var done = _pending.Dequeue();
            if (done.Task is null)
            {
                WriteObject(false); // -Quiet: not a peer the session knows
                continue;
            }
            if (done.Task.IsCanceled || StopToken.IsCancellationRequested)
                throw new PipelineStoppedException();
            var outcome = done.Task.Result;
            if (Quiet)
            {
                WriteObject(outcome.Error is null && outcome.Results.All(r => r.Status == QuDagPingResult.Success));
                continue;
            }
            foreach (var result in outcome.Results)
                WriteObject(result);
            if (outcome.Error is { } error)
                WriteError(error, done.Text);
        }
    }
}
