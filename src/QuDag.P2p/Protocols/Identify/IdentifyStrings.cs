using System.Collections.Concurrent;
using System.Text;

namespace QuDag.P2p.Protocols.Identify;

/// <summary>
/// One shared instance of each short string identify messages carry. Protocol ids and versions repeat on every
/// connection ("/ipfs/ping/1.0.0", "/qudag/1.0.0", an agent's version) and the parsed message is kept for the
/// connection's life, so without sharing each connection held its own copies (about 300 B). Bounded in count and
/// length: once full, or for a long string, a hostile peer's made-up names are decoded as usual and not kept.
/// </summary>
internal static class IdentifyStrings
{
    public const int MaxEntries = 4096;
    public const int MaxLength = 128; // bytes; longer strings are not shared

    private static readonly ConcurrentDictionary<string, string> s_table = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> s_lookup =
        s_table.GetAlternateLookup<ReadOnlySpan<char>>();
    private static int s_count;

    /// <summary>Decodes <paramref name="utf8"/> with <paramref name="encoding"/> (which may throw for invalid bytes), sharing the result when short.</summary>
    public static string Decode(ReadOnlySpan<byte> utf8, UTF8Encoding encoding)
    {
        if (utf8.Length > MaxLength)
            return encoding.GetString(utf8);
        Span<char> chars = stackalloc char[MaxLength]; // UTF-8 never decodes to more chars than bytes
        var text = chars[..encoding.GetChars(utf8, chars)];
        if (s_lookup.TryGetValue(text, out var shared))
            return shared;
        var created = new string(text);
        if (Volatile.Read(ref s_count) >= MaxEntries)
            return created;
        if (!s_table.TryAdd(created, created))
            return s_lookup.TryGetValue(text, out shared) ? shared : created;
        Interlocked.Increment(ref s_count);
        return created;
    }
}
