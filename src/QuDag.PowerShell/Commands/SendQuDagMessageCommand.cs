using System.Management.Automation;
using System.Text;
using QuDag.Network;

namespace QuDag.PowerShell.Commands;

/// <summary>Sends a message (a string as UTF-8, or bytes) to connected peers.</summary>
[Cmdlet(VerbsCommunications.Send, "QuDagMessage", SupportsShouldProcess = true)]
[OutputType(typeof(PeerInfo))]
public sealed class SendQuDagMessageCommand : QuDagCmdlet
{
    /// <summary>The peers to send to; each must be connected.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public PeerId[] PeerId { get; set; } = [];

    /// <summary>The message: a string (sent as UTF-8) or a byte array.</summary>
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

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var payload = (Message is PSObject pso ? pso.BaseObject : Message) switch
        {
            byte[] bytes => bytes,
            object[] items when items.All(i => (i is PSObject p ? p.BaseObject : i) is byte) => items.Select(i => (byte)(i is PSObject p ? p.BaseObject : i)).ToArray(),
            var other => Encoding.UTF8.GetBytes(LanguagePrimitives.ConvertTo<string>(other)),
        };
        var manager = CurrentSession.Manager;
        foreach (var peer in PeerId)
        {
            if (!IsKnownPeer(peer))
                continue;
            if (!ShouldProcess($"peer {peer.Short}", $"Send {payload.Length} bytes x {Count}"))
                continue;
            try
            {
                for (var i = 0; i < Count; i++)
                    Await(manager.SendAsync(peer, payload, StopToken));
                if (PassThru)
                    WriteObject(manager.GetPeer(peer));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ex, peer);
            }
        }
    }
}
