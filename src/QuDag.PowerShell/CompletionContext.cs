using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace QuDag.PowerShell;

/// <summary>What the argument completers share: the session a command line works in, and how a typed word matches.</summary>
internal static class CompletionContext
{
    /// <summary>The session the command line names with -Session (an object or a name), else the runspace's default; null when closed.</summary>
    public static QuDagSession? Session(IDictionary fakeBoundParameters)
    {
        var bound = fakeBoundParameters["Session"] is PSObject p ? p.BaseObject : fakeBoundParameters["Session"];
        var session = bound switch
        {
            QuDagSession given => given,
            string name => SessionRegistry.FindByName(Runspace.DefaultRunspace, name) is [var only] ? only : null,
            _ => Runspace.DefaultRunspace is { } runspace ? SessionRegistry.GetDefault(runspace) : null,
        };
        return session is { IsDisposed: false } ? session : null;
    }

    /// <summary>
    /// A test for candidates: a word with wildcards is a pattern (12*, *LBnHM, 12*Y3kHBc: the tables' short ids); a plain
    /// word matches a candidate's start, or, from <paramref name="minimumSuffix"/> characters on, its end.
    /// </summary>
    public static Func<string, bool> Matcher(string wordToComplete, int minimumSuffix = int.MaxValue)
    {
        var word = wordToComplete.Trim('\'', '"');
        if (WildcardPattern.ContainsWildcardCharacters(word))
            return new WildcardPattern(word, WildcardOptions.IgnoreCase).IsMatch;
        return candidate => candidate.StartsWith(word, StringComparison.OrdinalIgnoreCase)
            || (word.Length >= minimumSuffix && candidate.EndsWith(word, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The text to insert: quoted when it would not parse as one bare word.</summary>
    public static string Quote(string text) =>
        text.Length > 0 && text.All(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':')
            ? text
            : "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";
}
