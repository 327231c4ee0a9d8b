using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;

namespace QuDag.PowerShell;

/// <summary>Completes -Session and the session cmdlets' -Name with the names of this runspace's open sessions.</summary>
public sealed class SessionNameCompleter : IArgumentCompleter
{
    /// <inheritdoc/>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (Runspace.DefaultRunspace is not { } runspace)
            yield break;
        var matches = CompletionContext.Matcher(wordToComplete);
        foreach (var session in SessionRegistry.List(runspace))
        {
            if (matches(session.Name))
                yield return new CompletionResult(CompletionContext.Quote(session.Name), session.Name, CompletionResultType.ParameterValue,
                    $"{session.Name} ({session.PeerId}, {session.OpenConnections} open connections)");
        }
    }
}
