using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell;

/// <summary>
/// The one place a peer id typed by a user (a parameter, a CSV cell, a JSON field) becomes a <see cref="PeerId"/>.
/// Cmdlets take peer ids as strings so that Pester mocks, Import-Csv rows and Import-Clixml objects bind; the
/// libp2p core swaps this parser ("12D3KooW...") and nothing else.
/// </summary>
public static class PeerIdArgument
{
    /// <summary>Shortest prefix accepted as a short id (the tables show 16 characters).</summary>
    public const int MinimumPrefix = 4;

    /// <summary>The full id in <paramref name="text"/>, or an <see cref="QuDagArgumentException"/> saying what is wrong.</summary>
    public static PeerId Parse(string? text)
    {
        var trimmed = (text ?? "").Trim();
        if (PeerId.TryParse(trimmed, out var id))
            return id;
        throw new QuDagArgumentException("InvalidPeerId", Problem(trimmed));
    }

    /// <summary>
    /// A full id, or a prefix (the short id of the tables) that matches exactly one peer the session knows.
    /// </summary>
    public static PeerId Resolve(string? text, QuDagSession session)
    {
        var trimmed = (text ?? "").Trim();
        if (PeerId.TryParse(trimmed, out var id))
            return id;
        if (trimmed.Length >= MinimumPrefix && trimmed.Length < PeerId.Size * 2 && IsHex(trimmed))
        {
            var matches = session.Manager.GetPeers().Where(p => p.PeerId.ToString().StartsWith(trimmed, StringComparison.OrdinalIgnoreCase))
                .Select(p => p.PeerId).Take(2).ToArray();
            return matches.Length switch
            {
                1 => matches[0],
                0 => throw new QuDagArgumentException("PeerNotFound",
                    $"No peer the session knows starts with '{trimmed}'; a short id must match one known peer, or give the full 64-character id."),
                _ => throw new QuDagArgumentException("AmbiguousPeerId",
                    $"'{trimmed}' matches more than one known peer ({matches[0].Short}…, {matches[1].Short}…); type more characters of the id."),
            };
        }
        throw new QuDagArgumentException("InvalidPeerId", Problem(trimmed));
    }

    /// <summary><see cref="Resolve"/>, or null instead of an error (Test-QuDagPeer -Quiet).</summary>
    public static PeerId? TryResolveQuietly(string? text, QuDagSession session)
    {
        try
        {
            return Resolve(text, session);
        }
        catch (QuDagArgumentException)
        {
            return null;
        }
    }

    /// <summary>True when <paramref name="text"/> is a wildcard pattern (Get-QuDagPeer 'ab*').</summary>
    public static bool IsPattern(string? text) => text is not null && WildcardPattern.ContainsWildcardCharacters(text);

    /// <summary>The text form every output object carries: the full id.</summary>
    public static string Format(PeerId id) => id.ToString();

    private static bool IsHex(string text) => text.All(Uri.IsHexDigit);

    private static string Problem(string text)
    {
        var shown = text.Length <= 80 ? text : text[..77] + "...";
        if (text.Length == 0)
            return "The peer id is empty: give the 64 hex characters of the peer's id (Get-QuDagPeer shows them).";
        var bad = text.Select((c, i) => (c, i)).FirstOrDefault(x => !Uri.IsHexDigit(x.c));
        if (bad.c != default)
            return $"'{shown}' is not a peer id: character {bad.i + 1} ('{bad.c}') is not a hex digit; a peer id is 64 hex characters.";
        return $"'{shown}' is not a peer id: it has {text.Length} hex characters, a peer id has 64 (a short id needs a session that knows the peer).";
    }
}

/// <summary>A value a user gave that cannot be used; <see cref="Problem"/> becomes the error id's suffix.</summary>
public sealed class QuDagArgumentException(string problem, string message) : ArgumentException(message)
{
    /// <summary>The error id suffix: InvalidPeerId, InvalidAddress, NameNotResolved, ...</summary>
    public string Problem { get; } = problem;
}
