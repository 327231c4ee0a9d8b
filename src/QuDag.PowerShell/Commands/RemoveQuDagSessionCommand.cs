using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Closes sessions: their connections, listeners and pooled connections close and they leave the runspace's list.
/// Removing the default session makes the next command start a new default one.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "QuDagSession", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Session")]
[OutputType(typeof(void))]
public sealed class RemoveQuDagSessionCommand : PSCmdlet
{
    /// <summary>The sessions to close (from New-QuDagSession or Get-QuDagSession), or their names.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = "Session")]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(SessionNameCompleter))]
    public QuDagSession[] Session { get; set; } = [];

    /// <summary>Sessions by name; wildcards allowed.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Name")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SessionNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Sessions by id.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Id")]
    public int[] Id { get; set; } = [];

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var runspace = Runspace.DefaultRunspace;
        var open = SessionRegistry.List(runspace);
        IEnumerable<QuDagSession> targets = ParameterSetName switch
        {
            "Name" => Name.SelectMany(n =>
            {
                var pattern = new WildcardPattern(n, WildcardOptions.IgnoreCase);
                var found = open.Where(s => pattern.IsMatch(s.Name)).ToArray();
                if (found.Length == 0 && !WildcardPattern.ContainsWildcardCharacters(n))
                    WriteError(new ErrorRecord(new ItemNotFoundException($"No open session is named '{n}'."), "RemoveQuDagSessionNotFound", ErrorCategory.ObjectNotFound, n));
                return found;
            }).ToArray(),
            "Id" => Id.SelectMany(i =>
            {
                var found = open.Where(s => s.Id == i).ToArray();
                if (found.Length == 0)
                    WriteError(new ErrorRecord(new ItemNotFoundException($"No open session has id {i}."), "RemoveQuDagSessionNotFound", ErrorCategory.ObjectNotFound, i));
                return found;
            }).ToArray(),
            _ => Session,
        };
        foreach (var session in targets)
        {
            if (session.IsDisposed || !ShouldProcess($"session {session.Name} ({session.OpenConnections} open connections)", "Close and remove"))
                continue;
            SessionRegistry.Remove(runspace, session);
        }
    }
}
