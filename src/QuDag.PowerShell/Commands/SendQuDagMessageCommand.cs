using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>Sends a message to connected peers: a string as UTF-8, bytes as they are, any other object as its JSON.</summary>
[Cmdlet(VerbsCommunications.Send, "QuDagMessage", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagPeer))]
public sealed class SendQuDagMessageCommand : QuDagCmdlet
{

    /// <summary>The peers to send to; each must be connected.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>The message: a string (UTF-8), a byte array, or any other object (sent as compact JSON).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNull]
    public object Message { get; set; } = "";

    /// <summary>How many times to send it. Default 1.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; } = 1;

    /// <summary>Writes each peer after sending.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private byte[]? _payload;

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var payload = _payload ??= PayloadArgument.Encode(this, Message, CommandId, "InvalidMessage");
        var manager = CurrentSession.Manager;
        foreach (var text in PeerId)
        {
            if (ResolveKnownPeer(text) is not { } peer)
                continue;
            if (!ShouldProcess($"peer {peer.ToShortString()}", $"Send {payload.Length} bytes x {Count}"))
                continue;
            try
            {
                for (var i = 0; i < Count; i++)
                    Await(manager.SendAsync(peer, payload, StopToken));
                if (PassThru)
                    WriteObject(DescribePeer(peer));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ex, text);
            }
        }
    }
}
