using System.Collections.Concurrent;
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
    // How often the pipeline thread writes the head peer's results while its pings go on: results stream as they
    // come (as Test-Connection's do), and the pings never wait on the pipeline, nor wake it once per round trip.
    private static readonly TimeSpan OutputPeriod = TimeSpan.FromMilliseconds(100);

    // One per peer given, in input order: its pings run in a task while the pipeline thread writes results.
    private readonly Queue<PeerPings> _pending = new();

    /// <summary>One peer's pings: the results gathered so far, and the task that runs them (its result: the error
    /// that ended them early, or null). No task for a -Quiet peer the session does not know.</summary>
    private sealed class PeerPings(string text, Task<Exception?>? task, ConcurrentQueue<QuDagPingResult> results)
    {
        public string Text { get; } = text;
        public Task<Exception?>? Task { get; } = task;
        public ConcurrentQueue<QuDagPingResult> Results { get; } = results;
        public bool AllAnswered { get; set; } = true;
    }

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
                if (peer is { } known && !IsKnown(known))
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
                WriteReady(wait: true);
            var results = new ConcurrentQueue<QuDagPingResult>();
            var task = peer is { } p ? PingAsync(manager, p, Pings, TimeSpan.FromSeconds(TimeoutSeconds), results) : null;
            _pending.Enqueue(new PeerPings(text, task, results));
            WriteReady(wait: false);
        }
    }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        while (_pending.Count > 0)
            WriteReady(wait: true);
    }

    /// <summary>One peer's pings, one after another, each bounded by <paramref name="timeout"/>, each result handed to
    /// <paramref name="results"/> as it comes; returns the error that ended them early, if any.</summary>
    private async Task<Exception?> PingAsync(ConnectionManager manager, PeerId peer, int count, TimeSpan timeout,
        ConcurrentQueue<QuDagPingResult> results)
    {
        var text = PeerIdArgument.Format(peer);
        // One deadline source for the peer's pings, re-armed for each: a linked source and its timer per ping cost
        // more than the ping's own allocations. A ping that timed out cancelled it, so the next one needs a new one.
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(StopToken);
        try
        {
            for (var i = 1; i <= count; i++)
            {
                if (!deadline.TryReset())
                {
                    deadline.Dispose();
                    deadline = CancellationTokenSource.CreateLinkedTokenSource(StopToken);
                }
                deadline.CancelAfter(timeout);
                try
                {
                    results.Enqueue(QuDagPingResult.Answered(text, i, await manager.PingAsync(peer, deadline.Token).ConfigureAwait(false)));
                }
                catch (OperationCanceledException) when (!StopToken.IsCancellationRequested)
                {
                    results.Enqueue(QuDagPingResult.TimedOut(text, i));
                }
                catch (Exception ex) when (!StopToken.IsCancellationRequested)
                {
                    return ex;
                }
            }
            return null;
        }
        finally
        {
            deadline.Dispose();
        }
    }

    /// <summary>
    /// On the pipeline thread: writes the head peer's results gathered so far, and the whole of each finished peer at
    /// the head. With <paramref name="wait"/>, first waits up to <see cref="OutputPeriod"/> for the head peer to finish
    /// (or, when -ThrottleLimit peers are running, for any of them, so a slot frees).
    /// </summary>
    private void WriteReady(bool wait)
    {
        if (wait && _pending.Count > 0 && _pending.Peek().Task is { IsCompleted: false } head)
        {
            var running = _pending.Select(p => p.Task).OfType<Task<Exception?>>().Where(t => !t.IsCompleted).ToArray();
            WaitFor(running.Length >= ThrottleLimit ? Task.WhenAny(running) : head);
        }
        while (_pending.Count > 0)
        {
            var pings = _pending.Peek();
            bool done = pings.Task is null or { IsCompleted: true }; // read before draining: no result is left behind
            WriteResults(pings);
            if (!done)
                return;
            _pending.Dequeue();
            if (pings.Task is null)
            {
                WriteObject(false); // -Quiet: not a peer the session knows
                continue;
            }
            if (pings.Task.IsCanceled || StopToken.IsCancellationRequested)
                throw new PipelineStoppedException();
            var error = pings.Task.Result;
            if (Quiet)
                WriteObject(error is null && pings.AllAnswered);
            else if (error is not null)
                WriteError(error, pings.Text);
        }
    }

    private void WriteResults(PeerPings pings)
    {
        while (pings.Results.TryDequeue(out var result))
        {
            if (result.Status != QuDagPingResult.Success)
                pings.AllAnswered = false;
            if (!Quiet)
                WriteObject(result);
        }
    }

    // Waits up to OutputPeriod for the task; Ctrl+C ends the wait with PipelineStoppedException.
    private void WaitFor(Task task)
    {
        try
        {
            task.Wait(OutputPeriod, StopToken);
        }
        catch (AggregateException)
        {
            // It ended; WriteReady reads how.
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }
}
