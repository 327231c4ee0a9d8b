using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace QuDag.PowerShell;

/// <summary>
/// Completes -PeerId with the peers the session knows: from the first characters, from the last ones (at least 4, as
/// the tables' short id ends), or from a wildcard such as the short id itself (12*Y3kHBc, 12*, *LBnHM). The tooltip
/// shows status and endpoint.
/// </summary>
public sealed class PeerIdCompleter : IArgumentCompleter
{
    /// <inheritdoc/>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (CompletionContext.Session(fakeBoundParameters) is not { } session)
            yield break;
        var matches = CompletionContext.Matcher(wordToComplete, PeerIdArgument.MinimumPrefix);
        foreach (var peer in session.Manager.GetPeers())
        {
            var id = peer.PeerId.ToString();
            if (matches(id))
                yield return new CompletionResult(id, peer.PeerId.ToShortString(), CompletionResultType.ParameterValue,
                    $"{peer.PeerId.ToShortString()} {peer.Status?.ToString() ?? "Known"} {AddressArgument.Format(peer.Endpoint)}");
        }
    }
}
