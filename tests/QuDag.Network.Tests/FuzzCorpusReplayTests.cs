using QuDag.Fuzz;

namespace QuDag.Network.Tests;

/// <summary>
/// CI replays the fuzz corpus: every file of tests/QuDag.Fuzz/corpus (the seeds) and tests/QuDag.Fuzz/regressions
/// (inputs that once crashed) goes through the fuzz target's own logic, <see cref="DecoderTarget.Run"/>, with the
/// plain (uninstrumented) decoder. The files are copied next to the test assembly by the project file.
/// </summary>
public sealed class FuzzCorpusReplayTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "FuzzInputs");

    private static IEnumerable<string> Files() =>
        Directory.Exists(Root)
            ? Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(Root, f).Replace('\\', '/'))
                .Order(StringComparer.Ordinal)
            : [];

    public static TheoryData<string> Inputs() => [.. Files()];

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Input_DecodesAsTheProtocolSays(string input) =>
        DecoderTarget.Run(File.ReadAllBytes(Path.Combine(Root, input))); // throws on a crash or a wrong decoding

    [Fact]
    public void SeedCorpus_CoversEveryFrameTypeAndEveryEnding()
    {
        var seeds = Files().Where(f => f.StartsWith("corpus/", StringComparison.Ordinal)).ToList();
        Assert.True(seeds.Count >= 20, $"only {seeds.Count} seed files were found under {Root}");
        var outcomes = seeds.Select(f => DecoderTarget.Reference(File.ReadAllBytes(Path.Combine(Root, f)), DecoderTarget.MaxFrameSize)).ToList();
        foreach (var type in Enum.GetValues<FrameType>())
            Assert.Contains(outcomes, o => o.Frames.Any(f => f.Type == type));
        foreach (var ending in Enum.GetValues<DecoderTarget.Ending>())
            Assert.Contains(outcomes, o => o.Ending == ending);
        Assert.Contains(outcomes, o => o.Frames.Count >= 5);                                      // frames back to back
        Assert.Contains(outcomes, o => o.Frames.Any(f => f.Length == DecoderTarget.MaxFrameSize)); // exactly at the limit
    }
}
