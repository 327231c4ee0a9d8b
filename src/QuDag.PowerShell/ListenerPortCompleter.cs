using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace QuDag.PowerShell;

/// <summary>Completes -Port with the ports the session's listeners are bound to; the tooltip shows the endpoint.</summary>
public sealed class ListenerPortCompleter : IArgumentCompleter
{
    /// <inheritdoc/>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (CompletionContext.Session(fakeBoundParameters) is not { } session)
            yield break;
        var matches = CompletionContext.Matcher(wordToComplete);
        foreach (var listener in session.Manager.Listeners)
        {
            var port = listener.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture);
            if (matches(port))
                yield return new CompletionResult(port, port, CompletionResultType.ParameterValue, AddressArgument.Format(listener.LocalEndPoint));
        }
    }
}
