using System.Reflection;
using System.Text.RegularExpressions;

namespace QuDag.Network.Tests.Architecture;

/// <summary>
/// Keeps docs/ARCHITECTURE.md true where it names code: every repository path it cites exists, and every
/// <c>Type.Member</c> it names on a type of the core (QuDag.Network, QuDag.P2p) is a member of that type. The numbered
/// path of a PeerId in it was wrong once, in a comment nothing checked.
/// </summary>
public sealed partial class ArchitectureDocTests
{
    private static readonly Assembly[] s_core = [typeof(ConnectionManager).Assembly, typeof(P2p.Host.P2pHost).Assembly];

    [Fact]
    public void Every_path_the_architecture_doc_cites_exists()
    {
        var (root, text) = ReadDoc();
        var paths = PathPattern().Matches(text).Select(m => m.Value.TrimEnd('.')).Distinct().ToList();
        Assert.True(paths.Count >= 10, $"the doc cites only {paths.Count} paths: is the pattern still right?");
        var missing = paths.Where(p => !File.Exists(Path.Combine(root, p)) && !Directory.Exists(Path.Combine(root, p))).ToList();
        Assert.True(missing.Count == 0, "docs/ARCHITECTURE.md cites paths that do not exist: " + string.Join(", ", missing));
    }

    [Fact]
    public void Every_member_the_architecture_doc_names_on_a_core_type_exists()
    {
        var (_, text) = ReadDoc();
        var types = s_core.SelectMany(a => a.GetTypes())
            .Where(t => !t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute)))
            .GroupBy(t => StripArity(t.Name))
            .ToDictionary(g => g.Key, g => g.ToArray());
        int checkedCount = 0;
        var wrong = new List<string>();
        foreach (Match m in MemberPattern().Matches(text))
        {
            string typeName = m.Groups["type"].Value, member = m.Groups["member"].Value;
            if (!types.TryGetValue(typeName, out var candidates))
                continue; // a PowerShell, platform or prose name: not the core's to check
            checkedCount++;
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;
            if (!candidates.Any(t => t.GetMember(member, all).Length > 0 || t.GetNestedType(member, all) is not null))
                wrong.Add($"{typeName}.{member}");
        }
        Assert.True(checkedCount >= 5, $"the doc names only {checkedCount} members of core types: is the pattern still right?");
        Assert.True(wrong.Count == 0, "docs/ARCHITECTURE.md names members that do not exist: " + string.Join(", ", wrong.Distinct()));
    }

    private static string StripArity(string name) => name.IndexOf('`') is var i and >= 0 ? name[..i] : name;

    private static (string Root, string Text) ReadDoc()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "QuDag.PS.sln")))
            dir = dir.Parent;
        Assert.NotNull(dir);
        string doc = Path.Combine(dir.FullName, "docs", "ARCHITECTURE.md");
        Assert.True(File.Exists(doc), "docs/ARCHITECTURE.md is missing");
        return (dir.FullName, File.ReadAllText(doc));
    }

    // src/..., tests/..., module/..., docs/... up to a file name with an extension, or a folder ending in '/'.
    [GeneratedRegex(@"(?<![\w/.])(?:src|tests|module|docs)/[\w./-]*[\w/]")]
    private static partial Regex PathPattern();

    // Type.Member, both PascalCase (ConnectionManager.ConnectAsync, P2pHost.DialAsync), outside a longer dotted name.
    [GeneratedRegex(@"(?<![\w.])(?<type>[A-Z][A-Za-z0-9]+)\.(?<member>[A-Z][A-Za-z0-9]+)(?![\w]|\.[A-Za-z])")]
    private static partial Regex MemberPattern();
}
