using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Subscribes the session to gossipsub topics: announces each to every connected peer, grafts up to D of its
/// subscribers into the mesh, and queues its messages for Receive-QuDagMessage -Topic.
/// </summary>
[Cmdlet(VerbsLifecycle.Register, "QuDagTopic", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagTopic))]
public sealed class RegisterQuDagTopicCommand : QuDagCmdlet
{
    /// <summary>The topics to join (at most 1,024 bytes of UTF-8 each).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ValidateLength(1, 1024)]
    public string[] Topic { get; set; } = [];

    /// <summary>Writes each topic after joining it.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        foreach (var topic in Topic)
        {
            if (!ShouldProcess($"topic {topic}", "Subscribe"))
                continue;
            try
            {
                if (!manager.SubscribeTopic(topic))
                    WriteVerbose($"The session subscribes to '{topic}' already.");
                CurrentSession.RememberTopic(topic, subscribed: true);
                if (PassThru && manager.GetTopic(topic) is { } info)
                    WriteObject(new QuDagTopic(info));
            }
            catch (ArgumentException ex)
            {
                WriteError(ex, "InvalidTopic", ErrorCategory.InvalidArgument, topic);
            }
        }
    }
}
