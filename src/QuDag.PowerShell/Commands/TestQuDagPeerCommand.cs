using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>Measures PING/PONG round trips to connected peers; -Quiet answers $true or $false per peer.</summary>
[Cmdlet(VerbsDiagnostic.Test, "QuDagPeer")]
[OutputType(typeof(QuDagPingResult), typeof(bool))]
public sealed class TestQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to ping; each must be connected.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>Round trips per peer. Default 4 (1 with -Quiet).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; } = 4;

    /// <summary>Writes $true when every ping of a peer was answered, else $false, and no errors.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        var count = Quiet && !MyInvocation.BoundParameters.ContainsKey(nameof(Count)) ? 1 : Count;
        foreach (var text in PeerId)
        {
            PeerId? resolved;
            if (Quiet)
            {
                resolved = PeerIdArgument.TryResolveQuietly(text, CurrentSession);
                if (resolved is null || manager.GetPeer(resolved.Value) is null)
                {
                    WriteObject(false);
                    continue;
                }
            }
            else
            {
                resolved = ResolveKnownPeer(text);
            }
            if (resolved is not { } peer)
                continue;
            // The pings run back to back on the thread pool, and this (the pipeline's) thread writes their results as they
            // gather, every OutputPeriod. Awaiting each ping here woke this thread in every round trip, and handing each
            // result over as it came still did: a thread wake-up per ping, on the same cores as the pings themselves.
            var answered = new System.Collections.Concurrent.ConcurrentQueue<TimeSpan>();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(StopToken);
            var pinging = PingAllAsync(manager, peer, count, answered, stop.Token);
            var sequence = 0;
            try
            {
                bool done;
                do
                {
                    done = WaitFor(pinging, OutputPeriod);
                    while (answered.TryDequeue(out var roundTrip))
                    {
                        if (!Quiet)
                            WriteObject(new QuDagPingResult(peer, ++sequence, roundTrip));
                    }
                }
                while (!done);
                Await(pinging); // its failure, if the pings stopped early
                if (Quiet)
                    WriteObject(true);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                if (Quiet)
                    WriteObject(false);
                else
                    WriteError(ex, text);
            }
            finally
            {
                // A pipeline stopped downstream (Select-Object -First) leaves pings to cancel.
                stop.Cancel();
                WaitFor(pinging, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private static readonly TimeSpan OutputPeriod = TimeSpan.FromMilliseconds(100);

    /// <summary>True once <paramref name="task"/> has ended (in any way), false after <paramref name="period"/>; Ctrl+C
    /// ends the wait with <see cref="PipelineStoppedException"/>.</summary>
    private bool WaitFor(Task task, TimeSpan period)
    {
        try
        {
            return task.Wait(period, StopToken);
        }
        catch (AggregateException)
        {
            return true; // it failed: Await reports how
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>Pings <paramref name="peer"/> <paramref name="count"/> times, one after another, handing each round trip
    /// to <paramref name="answered"/>; stops at the first failure (the task faults with it).</summary>
    private static async Task PingAllAsync(QuDag.Network.ConnectionManager manager, PeerId peer, int count,
        System.Collections.Concurrent.ConcurrentQueue<TimeSpan> answered, CancellationToken cancellationToken)
    {
        for (var i = 0; i < count; i++)
            answered.Enqueue(await manager.PingAsync(peer, cancellationToken).ConfigureAwait(false));
    }
}
