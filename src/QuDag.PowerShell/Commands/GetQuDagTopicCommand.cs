using System.Management.Automation;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Lists gossipsub topics with their mesh, subscribers and counters: those the session subscribes to, publishes to,
/// or that a connected peer subscribes to.
/// </summary>
[Cmdlet(VerbsCommon.Get, "QuDagTopic")]
[OutputType(typeof(QuDagTopic))]
public sealed class GetQuDagTopicCommand : QuDagCmdlet
{
    /// <summary>Only these topics; wildcards allowed. A name without wildcards that nothing knows is an error.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Topic { get; set; }

    /// <summary>Only topics the session subscribes to.</summary>
    [Parameter]
    public SwitchParameter Subscribed { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var topics = CurrentSession.Manager.GetTopics().Where(t => !Subscribed || t.Subscribed).ToList();
        if (Topic is null)
        {
            foreach (var topic in topics)
                WriteObject(new QuDagTopic(topic));
            return;
        }
        foreach (var name in Topic)
        {
            var pattern = WildcardPattern.Get(name, WildcardOptions.None);
            var matches = topics.Where(t => pattern.IsMatch(t.Topic)).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                WriteError(new ItemNotFoundException($"The session knows no topic '{name}'."), "TopicNotFound", ErrorCategory.ObjectNotFound, name);
            foreach (var topic in matches)
                WriteObject(new QuDagTopic(topic));
        }
    }
}
