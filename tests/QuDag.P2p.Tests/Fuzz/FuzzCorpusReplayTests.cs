using QuDag.P2p.Fuzz;

namespace QuDag.P2p.Tests.Fuzz;

/// <summary>
/// CI replays the fuzz corpus: every file of tests/QuDag.P2p.Fuzz/corpus/TARGET (the seeds) and
/// tests/QuDag.P2p.Fuzz/regressions/TARGET (inputs that once crashed) goes through its target's entry point, the
/// plain (uninstrumented) decoder. The files are copied next to the test assembly by the project file.
/// </summary>
public sealed class FuzzCorpusReplayTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "FuzzInputs");

    /// <summary>Paths relative to <see cref="Root"/>: "corpus/TARGET/NAME" or "regressions/TARGET/NAME".</summary>
    private static IEnumerable<string> Files() =>
        Directory.Exists(Root)
            ? Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(Root, f).Replace('\\', '/'))
                .Order(StringComparer.Ordinal)
            : [];

    public static TheoryData<string> Inputs() => [.. Files()];

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Input_is_decoded_or_refused_with_the_typed_exception(string input)
    {
        var target = input.Split('/')[1];
        FuzzTargets.Get(target)(File.ReadAllBytes(Path.Combine(Root, input))); // anything but the typed refusal escapes
    }

    [Fact]
    public void Every_target_has_seeds_and_every_seed_folder_names_a_target()
    {
        var folders = Files().Where(f => f.StartsWith("corpus/", StringComparison.Ordinal))
            .GroupBy(f => f.Split('/')[1]).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(FuzzTargets.All.Keys.Order(StringComparer.Ordinal), folders.Keys.Order(StringComparer.Ordinal));
        Assert.All(folders, f => Assert.True(f.Value >= 4, $"corpus/{f.Key} has only {f.Value} seeds"));
        Assert.Equal(FuzzTargets.All.Keys.Order(StringComparer.Ordinal), FuzzTargets.Instrumented.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void An_unknown_target_is_refused_with_the_list_of_names() =>
        Assert.Contains("varint", Assert.Throws<ArgumentException>(() => FuzzTargets.Get("frames")).Message);
}
