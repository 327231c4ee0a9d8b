using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace QuDag.PowerShell.Commands;

/// <summary>Gets the session cmdlets use by default (or the one given), or with -All every session of this runspace.</summary>
[Cmdlet(VerbsCommon.Get, "QuDagSession")]
[OutputType(typeof(QuDagSession))]
public sealed class GetQuDagSessionCommand : QuDagCmdlet
{
    /// <summary>Every open session of this runspace, the default one included.</summary>
    [Parameter]
    public SwitchParameter All { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        if (All)
        {
            SessionRegistry.GetDefault(Runspace.DefaultRunspace);
            WriteObject(SessionRegistry.List(Runspace.DefaultRunspace), enumerateCollection: true);
        }
        else
        {
            WriteObject(CurrentSession);
        }
    }
}
