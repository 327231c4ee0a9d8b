using System.Diagnostics;
using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Looks peers up in the DHT (Kademlia FIND_NODE walks from the session's routing table) and writes their addresses;
/// the first dialable one goes into the session's address book, so Connect-QuDagPeer -PeerId then needs no -Address.
/// </summary>
[Cmdlet(VerbsCommon.Find, "QuDagPeer")]
[OutputType(typeof(QuDagFoundPeer))]
public sealed class FindQuDagPeerCommand : QuDagCmdlet
{
    /// <summary>The peers to look up: full ids (or objects with a PeerId property).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>How long one lookup may take, in seconds. Default 60 (the DHT's query timeout bounds it too).</summary>
    [Parameter]
    [Alias("Timeout")]
    [Seconds(1, SecondsAttribute.Hour)]
    public int TimeoutSeconds { get; set; } = 60;

    /// <inheritdoc/>
    protected override void BeginProcessing()
    {
        if (CurrentSession.Manager.Dht is null)
            ThrowTerminatingError(new ErrorRecord(new DhtDisabledException(), CommandId + "DhtDisabled", ErrorCategory.InvalidOperation, CurrentSession.Name)
            {
                ErrorDetails = new ErrorDetails("The session's DHT is off: turn it on with Set-QuDagSession -DhtMode Client (or Server) -Bootstrap <multiaddr>."),
            });
    }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        foreach (var text in PeerId)
        {
            if (ResolvePeer(text) is not { } peer)
                continue;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(StopToken);
            deadline.CancelAfter(TimeSpan.FromSeconds(TimeoutSeconds));
            var watch = Stopwatch.StartNew();
            IReadOnlyList<Multiaddr> addresses;
            try
            {
                addresses = Await(manager.FindPeerAsync(peer, deadline.Token));
            }
            catch (OperationCanceledException) when (!StopToken.IsCancellationRequested)
            {
                WriteError(new TimeoutException($"The DHT lookup of {peer.ToShortString()} did not finish within {TimeoutSeconds} s."),
                    "Timeout", ErrorCategory.OperationTimeout, text);
                continue;
            }
            catch (ArgumentException ex)
            {
                WriteError(ex, "InvalidPeer", ErrorCategory.InvalidArgument, text);
                continue;
            }
            if (addresses.Count == 0)
            {
                WriteError(new ItemNotFoundException($"No peer in the DHT knows an address of {peer}."), "NotFound", ErrorCategory.ObjectNotFound, text);
                continue;
            }
            WriteObject(new QuDagFoundPeer(peer, addresses, watch.Elapsed.TotalMilliseconds));
        }
    }
}
