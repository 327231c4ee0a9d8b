using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Sends a message to connected peers, or with -Topic publishes it on a gossipsub topic: a string as UTF-8, bytes as
/// they are, any other object as its JSON.
/// </summary>
[Cmdlet(VerbsCommunications.Send, "QuDagMessage", SupportsShouldProcess = true, DefaultParameterSetName = "Peer")]
[OutputType(typeof(QuDagPeer), ParameterSetName = ["Peer"])]
[OutputType(typeof(QuDagPublishedMessage), ParameterSetName = ["Topic"])]
public sealed class SendQuDagMessageCommand : QuDagCmdlet
{

    /// <summary>The peers to send to; each must be connected.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Peer")]
    [ArgumentCompleter(typeof(PeerIdCompleter))]
    public string[] PeerId { get; set; } = [];

    /// <summary>The message: a string (UTF-8), a byte array, or any other object (sent as compact JSON).</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = "Peer")]
    [ValidateNotNull]
    public object Message { get; set; } = "";

    /// <summary>The gossipsub topic to publish on (subscribed or not: an unsubscribed topic goes through its fanout).</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Topic")]
    [ValidateNotNullOrEmpty]
    [ValidateLength(1, 1024)]
    public string Topic { get; set; } = "";

    /// <summary>What to publish: a string (UTF-8), a byte array, or any other object (as compact JSON).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = "Topic")]
    [ValidateNotNull]
    public object Payload { get; set; } = "";

    /// <summary>How many times to send it. Default 1.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; } = 1;

    /// <summary>Writes each peer after sending (with -Topic: each published message).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private byte[]? _payload;

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        if (ParameterSetName == "Topic")
        {
            PublishTopic();
            return;
        }
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

    /// <summary>-Topic: each pipeline payload is its own message (publishes are cheap and each carries its own stamp).</summary>
    private void PublishTopic()
    {
        var payload = PayloadArgument.Encode(this, Payload, CommandId);
        if (!ShouldProcess($"topic {Topic}", $"Publish {payload.Length} bytes x {Count}"))
            return;
        for (var i = 0; i < Count; i++)
        {
            try
            {
                var result = CurrentSession.Manager.PublishTopic(Topic, payload);
                if (PassThru)
                    WriteObject(new QuDagPublishedMessage(result));
            }
            catch (QuDag.P2p.Protocols.Gossipsub.GossipPublishException ex)
            {
                var (problem, category) = ex.Error switch
                {
                    QuDag.P2p.Protocols.Gossipsub.GossipPublishError.InsufficientPeers => ("InsufficientPeers", ErrorCategory.ResourceUnavailable),
                    QuDag.P2p.Protocols.Gossipsub.GossipPublishError.MessageTooLarge => ("MessageTooLarge", ErrorCategory.LimitsExceeded),
                    _ => ("SessionClosed", ErrorCategory.ResourceUnavailable),
                };
                WriteError(ex, problem, category, Topic);
                return;
            }
        }
    }
}
