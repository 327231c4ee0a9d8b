using System.Management.Automation;
using QuDag.Network;

namespace QuDag.PowerShell;

/// <summary>
/// The one place a peer id typed by a user (a parameter, a CSV cell, a JSON field) becomes a <see cref="PeerId"/>:
/// the libp2p text form ("12D3KooW...", "16Uiu2...", "Qm...", or a CIDv1 "bafz..."). Cmdlets take peer ids as
/// strings so that Pester mocks, Import-Csv rows and Import-Clixml objects bind.
/// </summary>
public static class PeerIdArgument
{
    /// <summary>Shortest prefix or suffix accepted as a short id.</summary>
    public const int MinimumPrefix = 4;

    /// <summary>The full id in <paramref name="text"/>, or an <see cref="QuDagArgumentException"/> saying what is wrong.</summary>
    public static PeerId Parse(string? text)
    {
        var trimmed = (text ?? "").Trim();
        if (PeerId.TryParse(trimmed, out var id, out var error))
            return id;
        throw new QuDagArgumentException("InvalidPeerId", Problem(trimmed, error));
    }

    /// <summary>
    /// A full id, or a short one that matches exactly one peer the session knows: the tables' "12*Wn8fj" (first
    /// characters, '*', last characters, as go-libp2p prints it), or at least 4 first or last characters.
    /// </summary>
    public static PeerId Resolve(string? text, QuDagSession session)
    {
        var trimmed = (text ?? "").Trim();
        if (PeerId.TryParse(trimmed, out var id, out var error))
            return id;
        if (ShortMatch(trimmed) is { } matches)
        {
            var found = session.Manager.GetPeers().Select(p => p.PeerId).Where(p => matches(p.ToString())).Take(2).ToArray();
            return found.Length switch
            {
                1 => found[0],
                0 => throw new QuDagArgumentException("PeerNotFound",
                    $"No peer the session knows matches '{trimmed}'; a short id must match one known peer, or give the full id (12D3KooW...)."),
                _ => throw new QuDagArgumentException("AmbiguousPeerId",
                    $"'{trimmed}' matches more than one known peer ({found[0]}, {found[1]}); type more characters of the id."),
            };
        }
        throw new QuDagArgumentException("InvalidPeerId", Problem(trimmed, error));
    }

    // "12*Wn8fj" (go's ShortString, also a wildcard) or a bare run of base58 characters used as a prefix or suffix.
    private static Func<string, bool>? ShortMatch(string text)
    {
        if (WildcardPattern.ContainsWildcardCharacters(text) && text.Count(IsBase58) >= MinimumPrefix)
        {
            var pattern = new WildcardPattern(text, WildcardOptions.None);
            return pattern.IsMatch;
        }
        if (text.Length >= MinimumPrefix && text.Length < 46 && text.All(IsBase58))
            return id => id.StartsWith(text, StringComparison.Ordinal) || id.EndsWith(text, StringComparison.Ordinal);
        return null;
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

    /// <summary>True when <paramref name="text"/> is a wildcard pattern (Get-QuDagPeer '12D3*').</summary>
    public static bool IsPattern(string? text) => text is not null && WildcardPattern.ContainsWildcardCharacters(text);

    /// <summary>The text form every output object carries: the full id.</summary>
    public static string Format(PeerId id) => id.ToString();

    /// <summary>The short form the tables show (first 2 characters, '*', last 6: 12*Wn8fj) of a full id's text.</summary>
    public static string Short(string id) => id.Length > 9 ? $"{id[..2]}*{id[^6..]}" : id;

    private static bool IsBase58(char c) => c is >= '1' and <= '9' or >= 'A' and <= 'Z' or >= 'a' and <= 'z' && c is not ('I' or 'O' or 'l');

    private static string Problem(string text, string? parseError)
    {
        if (text.Length == 0)
            return "The peer id is empty: give the peer's libp2p id, such as 12D3KooW... (Get-QuDagPeer shows them).";
        var shown = text.Length <= 80 ? text : text[..77] + "...";
        var bad = text.Select((c, i) => (c, i)).FirstOrDefault(x => !IsBase58(x.c));
        if (bad.c != default && !text.StartsWith("b", StringComparison.Ordinal))
            return $"'{shown}' is not a peer id: character {bad.i + 1} ('{bad.c}') is not base58; a peer id looks like 12D3KooW... (52 characters).";
        return parseError ?? $"'{shown}' is not a peer id.";
    }
}

/// <summary>A value a user gave that cannot be used; <see cref="Problem"/> becomes the error id's suffix.</summary>
public sealed class QuDagArgumentException(string problem, string message) : ArgumentException(message)
{
    /// <summary>The error id suffix: InvalidPeerId, InvalidAddress, NameNotResolved, ...</summary>
    public string Problem { get; } = problem;
}
