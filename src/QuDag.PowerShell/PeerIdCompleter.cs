using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;

namespace QuDag.PowerShell;

/// <summary>Completes -PeerId with the peers the session knows, showing status and endpoint as the tooltip.</summary>
public sealed class PeerIdCompleter : IArgumentCompleter
{
    /// <inheritdoc/>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var session = fakeBoundParameters["Session"] is { } bound
            ? (bound is PSObject p ? p.BaseObject : bound) as QuDagSession
            : Runspace.DefaultRunspace is { } runspace ? SessionRegistry.GetDefault(runspace) : null;
        if (session is null || session.IsDisposed)
            yield break;
        var prefix = wordToComplete.Trim('\'', '"');
        foreach (var peer in session.Manager.GetPeers())
        {
            var id = peer.PeerId.ToString();
            if (id.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                yield return new CompletionResult(id, peer.PeerId.ToShortString(), CompletionResultType.ParameterValue,
                    $"{peer.PeerId.ToShortString()} {peer.Status?.ToString() ?? "Known"} {AddressArgument.Format(peer.Endpoint)}");
        }
    }
}
