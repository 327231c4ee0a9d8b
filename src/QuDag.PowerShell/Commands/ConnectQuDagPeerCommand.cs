using System.Management.Automation;
using System.Net;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Connects to peers. Peers from the pipeline connect concurrently (up to -ThrottleLimit at once), with
/// progress; a live pooled connection is reused without a new handshake.
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "QuDagPeer", SupportsShouldProcess = true)]
[OutputType(typeof(PeerInfo))]
public sealed class ConnectQuDagPeerCommand : QuDagCmdlet
{
    private readonly List<(PeerId Peer, Task Task)> _inFlight = [];
    private int _started;
    private int _finished;

    /// <summary>The peers to connect to: ids, hex strings, or objects with a PeerId property.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public PeerId[] PeerId { get; set; } = [];

    /// <summary>Where the peer listens (host:port); also recorded in the address book. Omit to use the address book.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [EndpointTransformation]
    public EndPoint? Endpoint { get; set; }

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
        foreach (var peer in PeerId)
        {
            var target = Endpoint?.ToString() ?? manager.GetEndPoint(peer)?.ToString() ?? "address book";
            if (!ShouldProcess($"peer {peer.Short} at {target}", "Connect"))
                continue;
            while (_inFlight.Count >= ThrottleLimit)
                Drain(waitForOne: true);
            if (MyInvocation.BoundParameters.ContainsKey(nameof(AutoReconnect))) // -AutoReconnect:$false turns it off
                manager.SetAutoReconnect(peer, AutoReconnect.IsPresent);
            var task = Endpoint is null ? manager.ConnectAsync(peer, StopToken) : manager.ConnectAsync(peer, Endpoint, StopToken);
            _inFlight.Add((peer, task));
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
            var (peer, task) = _inFlight[i];
            if (!task.IsCompleted)
                continue;
            _inFlight.RemoveAt(i--);
            _finished++;
            if (task.IsCanceled && StopToken.IsCancellationRequested)
                throw new PipelineStoppedException();
            if (task.Exception is { } error)
                WriteError(error.InnerException ?? error, peer);
            else if (PassThru)
                WriteObject(CurrentSession.Manager.GetPeer(peer));
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
