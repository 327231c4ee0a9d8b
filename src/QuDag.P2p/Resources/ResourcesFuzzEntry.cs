namespace QuDag.P2p.Resources;

/// <summary>Entry point for the fuzzer and the corpus replay: allowlist entries as an operator or a config file gives them.</summary>
internal static class ResourcesFuzzEntry
{
    /// <summary>Parses <paramref name="data"/> (UTF-8) as an allowlist entry; what parses must print and parse back to itself.</summary>
    public static void AllowlistEntryText(ReadOnlySpan<byte> data)
    {
        string text = System.Text.Encoding.UTF8.GetString(data);
        AllowlistEntry entry;
        try
        {
            entry = AllowlistEntry.Parse(text);
        }
        catch (FormatException)
        {
            return;
        }
        if (AllowlistEntry.Parse(entry.ToString()) != entry)
            throw new InvalidOperationException($"The allowlist entry '{text}' does not survive a round trip ({entry}).");
    }
}
