using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>Leaves gossipsub topics: announces it, prunes the mesh (the peers back off for 10 s), and ends waiting receives.</summary>
[Cmdlet(VerbsLifecycle.Unregister, "QuDagTopic", SupportsShouldProcess = true)]
[OutputType(typeof(QuDagTopic))]
public sealed class UnregisterQuDagTopicCommand : QuDagCmdlet
{
    /// <summary>The topics to leave.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Topic { get; set; } = [];

    /// <summary>Writes each topic after leaving it.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = CurrentSession.Manager;
        foreach (var topic in Topic)
        {
            if (!manager.SubscribedTopics.Contains(topic))
            {
                WriteError(new ItemNotFoundException($"The session does not subscribe to topic '{topic}'."), "NotSubscribed", ErrorCategory.ObjectNotFound, topic);
                continue;
            }
            if (!ShouldProcess($"topic {topic}", "Unsubscribe"))
                continue;
            manager.UnsubscribeTopic(topic);
            CurrentSession.RememberTopic(topic, subscribed: false);
            if (PassThru && manager.GetTopic(topic) is { } info)
                WriteObject(new QuDagTopic(info));
        }
    }
}
