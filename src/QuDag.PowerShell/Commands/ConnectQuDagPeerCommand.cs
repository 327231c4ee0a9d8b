using System.Diagnostics;
using System.Management.Automation;
using System.Net;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Connects to peers. Peers from the pipeline connect concurrently (up to -ThrottleLimit at once), with
/// progress; a live pooled connection is reused without a new handshake.
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "QuDagPeer", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagPeer))]
public sealed class ConnectQuDagPeerCommand : QuDagCmdlet
{
    private readonly List<InFlight> _inFlight = [];
    private int _started;
    private int _finished;

    private sealed record InFlight(PeerId Peer, string Text, EndPoint? EndPoint, Task Task, CancellationTokenSource Deadline,
        string How, Stopwatch Clock);

    /// <summary>The peers to connect to: full ids, short ids the session knows, or objects with a PeerId property.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>Where the peer listens (host:port); also recorded in the address book. Omit to use the address book.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Address")]
    public string? Endpoint { get; set; }

    /// <summary>How long each connect may take, in seconds; the session's connect timeout applies too.</summary>
    [Parameter]
    [Alias("ConnectTimeout", "TimeoutSeconds")]
    [Seconds]
    [ValidateRange(1, int.MaxValue)]
    public int ConnectTimeoutSeconds { get; set; }

    /// <summary>How many connects run at once. Default 32.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 32;

    /// <summary>Redial these peers automatically (with backoff) when their connection is lost; a disconnect stops it, -AutoReconnect:$false turns it off.</summary>
    [Parameter]
    public SwitchParameter AutoReconnect { get; set; }

    /// <summary>Writes each connected peer.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        EndPoint? endPoint = null;
        if (Endpoint is { Length: > 0 } text)
        {
            try
            {
                endPoint = Await(AddressArgument.ResolveAsync(AddressArgument.Parse(text), StopToken));
            }
            catch (QuDagArgumentException ex)
            {
                foreach (var peerText in PeerId)
                    WriteError(ex, peerText);
                return;
            }
        }
        foreach (var given in PeerId)
        {
            if (ResolvePeer(given) is not { } peer)
                continue;
            var target = AddressArgument.Format(endPoint ?? manager.GetEndPoint(peer)) ?? "its address book entry";
            if (!ShouldProcess($"peer {peer.ToShortString()} at {target}", "Connect"))
                continue;
            while (_inFlight.Count >= ThrottleLimit)
                Drain(waitForOne: true);
            if (MyInvocation.BoundParameters.ContainsKey(nameof(AutoReconnect))) // -AutoReconnect:$false turns it off
                manager.SetAutoReconnect(peer, AutoReconnect.IsPresent);
            var before = manager.GetPeer(peer);
            var how = before?.Status == ConnectionStatus.Connected ? "already connected"
                : before?.Pooled == true ? "reused a pooled connection"
                : "dialed";
            var deadline = CancellationTokenSource.CreateLinkedTokenSource(StopToken);
            if (ConnectTimeoutSeconds > 0)
                deadline.CancelAfter(TimeSpan.FromSeconds(ConnectTimeoutSeconds));
            var task = endPoint is null ? manager.ConnectAsync(peer, deadline.Token) : manager.ConnectAsync(peer, endPoint, deadline.Token);
            _inFlight.Add(new InFlight(peer, given, endPoint, task, deadline, how, Stopwatch.StartNew()));
            _started++;
            Drain(waitForOne: false);
        }
    }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        while (_inFlight.Count > 0)
            Drain(waitForOne: true);
        if (_started > 1)
            WriteProgress(new ProgressRecord(1, "Connecting to QuDAG peers", "Done") { RecordType = ProgressRecordType.Completed });
    }

    /// <summary>Reports finished connects on the pipeline thread, where output and errors must be written.</summary>
    private void Drain(bool waitForOne)
    {
        if (waitForOne && _inFlight.All(f => !f.Task.IsCompleted))
            Await(Task.WhenAny(_inFlight.Select(f => f.Task)));
        for (var i = 0; i < _inFlight.Count; i++)
        {
            var flight = _inFlight[i];
            if (!flight.Task.IsCompleted)
                continue;
            _inFlight.RemoveAt(i--);
            _finished++;
            using (flight.Deadline)
            {
                if (flight.Task.IsCanceled && StopToken.IsCancellationRequested)
                    throw new PipelineStoppedException();
                if (flight.Task.IsCanceled)
                {
                    WriteError(new TimeoutException($"No connection to peer {flight.Peer} within -ConnectTimeoutSeconds {ConnectTimeoutSeconds}."),
                        "Timeout", ErrorCategory.OperationTimeout, flight.Text);
                }
                else if (flight.Task.Exception is { } error)
                {
                    var cause = error.InnerException ?? error;
                    // A connect the gater refused still teaches the session where the peer is.
                    if (cause is PeerDeniedException && flight.EndPoint is not null)
                        CurrentSession.Manager.AddPeer(flight.Peer, flight.EndPoint);
                    WriteError(cause, flight.Text);
                }
                else
                {
                    var info = DescribePeer(flight.Peer);
                    WriteVerbose(flight.How == "dialed"
                        ? $"Peer {flight.Peer.ToShortString()}: dialed {info?.Endpoint}, handshake {info?.HandshakeMs:0.###} ms, connected in {flight.Clock.Elapsed.TotalMilliseconds:0.###} ms."
                        : $"Peer {flight.Peer.ToShortString()}: {flight.How} ({info?.Endpoint}), no handshake, {flight.Clock.Elapsed.TotalMilliseconds:0.###} ms.");
                    if (PassThru && info is not null)
                        WriteObject(info);
                }
            }
        }
        if (_started > 1)
        {
            WriteProgress(new ProgressRecord(1, "Connecting to QuDAG peers", $"{_finished} of {_started} done")
            {
                PercentComplete = (int)(100L * _finished / _started),
            });
        }
    }
}
