using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace QuDag.PowerShell;

/// <summary>
/// Completes -Address with the multiaddrs of the peers the session knows (the address book's, then those identify
/// reported), each ending in /p2p/&lt;id&gt; so it names the peer too. A word starting with '/' matches from the start;
/// any other word (an IP, a port, a short id like 12*LBnHM) matches anywhere in the multiaddr.
/// </summary>
public sealed class PeerAddressCompleter : IArgumentCompleter
{
    /// <inheritdoc/>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (CompletionContext.Session(fakeBoundParameters) is not { } session)
            yield break;
        var word = wordToComplete.Trim('\'', '"');
        var matches = word.StartsWith('/') ? CompletionContext.Matcher(word) : CompletionContext.Matcher($"*{word}*");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var peer in session.Manager.GetPeers())
        {
            var known = AddressArgument.FormatMultiaddr(peer.Endpoint, peer.PeerId);
            var announced = peer.ListenAddresses.Select(a => (a.PeerId is null ? a.WithPeerId(peer.PeerId) : a).ToString());
            foreach (var address in announced.Prepend(known).OfType<string>())
            {
                if (matches(address) && seen.Add(address))
                    yield return new CompletionResult(address, address, CompletionResultType.ParameterValue,
                        $"{peer.PeerId.ToShortString()} {peer.Status?.ToString() ?? "Known"}");
            }
        }
    }
}
