using System.Management.Automation;
using System.Net;
using System.Net.Sockets;

namespace QuDag.PowerShell.Commands;

/// <summary>Accepts inbound libp2p connections; returns the PeerId and the multiaddrs others dial.</summary>
[Cmdlet(VerbsLifecycle.Start, "QuDagListener", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagListener))]
public sealed class StartQuDagListenerCommand : QuDagCmdlet
{
    /// <summary>
    /// The address or host name to bind (localhost, 0.0.0.0, ::1, ...) or a multiaddr (/ip4/0.0.0.0/tcp/4001).
    /// Default 127.0.0.1 (loopback only).
    /// </summary>
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
        IPAddress address;
        var port = Port;
        try
        {
            if (AddressArgument.IsMultiaddr(Address))
            {
                var bound = Await(AddressArgument.ResolveAsync(AddressArgument.ParseAddress(Address).EndPoint, StopToken));
                address = bound.Address;
                if (!MyInvocation.BoundParameters.ContainsKey(nameof(Port)))
                    port = bound.Port;
            }
            else
            {
                address = Await(AddressArgument.ResolveHostAsync(Address, StopToken));
            }
        }
        catch (QuDagArgumentException ex)
        {
            ThrowTerminatingError(Errors.From(ex, CommandId, Address));
            return;
        }
        var endPoint = new IPEndPoint(address, port);
        if (!ShouldProcess(endPoint.ToString(), "Start listening"))
            return;
        try
        {
            var listener = Await(CurrentSession.Manager.ListenAsync(endPoint, StopToken));
            WriteObject(new QuDagListener(CurrentSession, listener));
        }
        catch (Exception caught) when ((caught as SocketException ?? caught.InnerException as SocketException) is not null)
        {
            var ex = caught as SocketException ?? (SocketException)caught.InnerException!;
            var (problem, message) = ex.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => ("AddressInUse", $"Cannot listen on {endPoint}: the address is already in use (another listener has port {port})."),
                SocketError.AddressNotAvailable => ("AddressNotAvailable", $"Cannot listen on {endPoint}: this machine has no such address."),
                SocketError.AccessDenied => ("AccessDenied", $"Cannot listen on {endPoint}: permission denied (ports below 1024 need privileges)."),
                _ => ("BindFailed", $"Cannot listen on {endPoint}: {ex.SocketErrorCode}."),
            };
            ThrowTerminatingError(new ErrorRecord(new IOException(message, ex), CommandId + problem, ErrorCategory.ResourceUnavailable, endPoint.ToString()));
        }
    }
}
