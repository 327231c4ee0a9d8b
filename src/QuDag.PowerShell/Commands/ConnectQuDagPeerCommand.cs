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

    private sealed record InFlight(PeerId Peer, string Text, EndPoint? EndPoint, Task Task, string How, Stopwatch Clock);

    /// <summary>
    /// The peers to connect to: full ids, short ids the session knows, objects with a PeerId property, or whole
    /// multiaddrs ending in /p2p/&lt;id&gt;. May be omitted when -Address names the peer.
    /// </summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    [PeerOrAddress]
    public string[] PeerId { get; set; } = [];

    /// <summary>
    /// Where the peer listens: a multiaddr (/ip4/10.0.0.5/tcp/4001/p2p/12D3KooW..., /dns4/name/tcp/4001) or host:port;
    /// also recorded in the address book. Omit to use the address book.
    /// </summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Endpoint")]
    [ArgumentCompleter(typeof(PeerAddressCompleter))]
    public string? Address { get; set; }

    /// <summary>
    /// How long each connect may take, in seconds, instead of the session's connect timeout: one deadline for TCP,
    /// security and muxer together. A connect past it fails as a timeout (status Failed, counted by the breaker).
    /// </summary>
    [Parameter]
    [Alias("ConnectTimeout", "TimeoutSeconds")]
    [Seconds(1, SecondsAttribute.Hour)]
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
        PeerId? named = null;
        // A multiaddr given where a peer id goes ("/ip4/.../p2p/12D3KooW..." | Connect-QuDagPeer) is an address.
        var given = PeerId.Where(p => !AddressArgument.IsMultiaddr(p)).ToList();
        var addressText = Address is { Length: > 0 } ? Address : PeerId.FirstOrDefault(AddressArgument.IsMultiaddr);
        if (addressText is not null)
        {
            try
            {
                var parsed = AddressArgument.ParseAddress(addressText);
                named = parsed.PeerId;
                endPoint = Await(AddressArgument.ResolveAsync(parsed.EndPoint, StopToken));
            }
            catch (QuDagArgumentException ex)
            {
                WriteError(ex, addressText);
                return;
            }
        }
        if (given.Count == 0)
        {
            if (named is not { } only)
            {
                WriteError(new QuDagArgumentException("PeerIdRequired",
                    $"Name the peer: pass -PeerId, or an -Address that ends in /p2p/<peer id>{(addressText is null ? "" : $" (got '{addressText}')")}."),
                    addressText ?? "");
                return;
            }
            given.Add(only.ToString());
        }
        foreach (var text in given)
        {
            if (ResolvePeer(text) is not { } peer)
                continue;
            if (named is { } expected && expected != peer)
            {
                WriteError(new QuDagArgumentException("AddressPeerMismatch",
                    $"The address {addressText} names peer {expected}, but -PeerId is {peer}: drop one of them, or make them agree."), text);
                continue;
            }
            var target = AddressArgument.Format(endPoint ?? manager.GetEndPoint(peer)) ?? "its address book entry";
            if (!ShouldProcess($"peer {peer.ToShortString()} at {target}", "Connect"))
                continue;
            while (_inFlight.Count >= ThrottleLimit)
                Drain(waitForOne: true);
            if (MyInvocation.BoundParameters.ContainsKey(nameof(AutoReconnect))) // -AutoReconnect:$false turns it off
                manager.SetAutoReconnect(peer, AutoReconnect.IsPresent);
            // Only -Verbose says how: the peer's whole description per row cost more than the rest of ProcessRecord.
            var before = VerboseWanted ? manager.GetPeer(peer) : null;
            var how = before?.Status == ConnectionStatus.Connected ? "already connected"
                : before?.Pooled == true ? "reused a pooled connection"
                : "dialed";
            // The deadline is the core's, so a connect that runs out of time is a failure of the peer it counts; StopToken
            // (Ctrl+C) is not.
            TimeSpan? timeout = ConnectTimeoutSeconds > 0 ? TimeSpan.FromSeconds(ConnectTimeoutSeconds) : null;
            var task = manager.ConnectAsync(peer, endPoint, timeout, StopToken);
            _inFlight.Add(new InFlight(peer, text, endPoint, task, how, Stopwatch.StartNew()));
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

    /// <summary>
    /// Identify is asked on every new connection and answers within a round trip: -PassThru waits for it (at most
    /// 2 s) so the objects written already carry the peer's agent, protocols and addresses.
    /// </summary>
    private void AwaitIdentify(PeerId peer)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(StopToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            Await(CurrentSession.Manager.IdentifyAsync(peer, bounded.Token));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteVerbose($"Peer {peer.ToShortString()} did not answer identify: {ex.Message}");
        }
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
            if (flight.Task.IsCanceled)
                throw new PipelineStoppedException();
            if (flight.Task.Exception is { } error)
            {
                var cause = error.InnerException ?? error;
                // A connect the gater refused still teaches the session where the peer is.
                if (cause is PeerDeniedException && flight.EndPoint is not null)
                    CurrentSession.Manager.AddPeer(flight.Peer, flight.EndPoint);
                WriteError(cause, flight.Text);
            }
            else
            {
                if (!PassThru && !VerboseWanted)
                    continue;
                if (PassThru)
                    AwaitIdentify(flight.Peer);
                var info = DescribePeer(flight.Peer);
                WriteVerbose(flight.How == "dialed"
                    ? $"Peer {flight.Peer.ToShortString()}: dialed {info?.Endpoint}, handshake {info?.HandshakeMs:0.###} ms, connected in {flight.Clock.Elapsed.TotalMilliseconds:0.###} ms."
                    : $"Peer {flight.Peer.ToShortString()}: {flight.How} ({info?.Endpoint}), no handshake, {flight.Clock.Elapsed.TotalMilliseconds:0.###} ms.");
                if (PassThru && info is not null)
                    WriteObject(info);
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
