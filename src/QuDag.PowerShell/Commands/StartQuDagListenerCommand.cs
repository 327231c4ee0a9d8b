using System.Management.Automation;
using System.Net;

namespace QuDag.PowerShell.Commands;

/// <summary>Accepts inbound QuDAG connections; returns the PeerId and Endpoint others dial.</summary>
[Cmdlet(VerbsLifecycle.Start, "QuDagListener", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagListener))]
public sealed class StartQuDagListenerCommand : QuDagCmdlet
{
    /// <summary>The address to bind. Default 127.0.0.1 (loopback only).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>The port; 0 (the default) picks a free one.</summary>
    [Parameter(Position = 1)]
    [ValidateRange(0, 65535)]
    public int Port { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        if (!IPAddress.TryParse(Address, out var address))
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException($"'{Address}' is not an IP address."),
                CommandId + "InvalidAddress", ErrorCategory.InvalidArgument, Address));
            return;
        }
        var endPoint = new IPEndPoint(address, Port);
        if (!ShouldProcess(endPoint.ToString(), "Start listening"))
            return;
        try
        {
            var listener = Await(CurrentSession.Manager.ListenAsync(endPoint, StopToken));
            WriteObject(new QuDagListener(CurrentSession, listener));
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            ThrowTerminatingError(new ErrorRecord(ex, CommandId + "BindFailed", ErrorCategory.ResourceUnavailable, endPoint));
        }
    }
}
