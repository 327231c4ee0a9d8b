using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace QuDag.PowerShell.Commands;

/// <summary>
/// Gets the session cmdlets use by default (or the one given with -Session), sessions by -Name (wildcards) or -Id,
/// or with -All every open session of this runspace.
/// </summary>
[Cmdlet(VerbsCommon.Get, "QuDagSession", DefaultParameterSetName = "Current")]
[OutputType(typeof(QuDagSession))]
public sealed class GetQuDagSessionCommand : QuDagCmdlet
{
    /// <summary>Every open session of this runspace, the default one included.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "All")]
    public SwitchParameter All { get; set; }

    /// <summary>Sessions by name; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Name")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SessionNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Sessions by id.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Id")]
    public int[] Id { get; set; } = [];

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var runspace = Runspace.DefaultRunspace;
        switch (ParameterSetName)
        {
            case "All":
                SessionRegistry.GetDefault(runspace);
                WriteObject(SessionRegistry.List(runspace), enumerateCollection: true);
                break;
            case "Name":
                SessionRegistry.GetDefault(runspace);
                var sessions = SessionRegistry.List(runspace);
                foreach (var name in Name)
                {
                    var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                    var found = sessions.Where(s => pattern.IsMatch(s.Name)).ToArray();
                    if (found.Length == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                        WriteError(new ItemNotFoundException($"No open session is named '{name}'."), "NotFound", ErrorCategory.ObjectNotFound, name);
                    WriteObject(found, enumerateCollection: true);
                }
                break;
            case "Id":
                var all = SessionRegistry.List(runspace);
                foreach (var id in Id)
                {
                    if (all.FirstOrDefault(s => s.Id == id) is { } session)
                        WriteObject(session);
                    else
                        WriteError(new ItemNotFoundException($"No open session has id {id}."), "NotFound", ErrorCategory.ObjectNotFound, id);
                }
                break;
            default:
                WriteObject(CurrentSession);
                break;
        }
    }
}
