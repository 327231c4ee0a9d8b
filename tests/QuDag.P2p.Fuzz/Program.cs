using QuDag.P2p.Fuzz;

// Usage:
//   QuDag.P2p.Fuzz TARGET                      under libfuzzer-dotnet (fuzz.sh): SharpFuzz reads inputs from shared memory
//   QuDag.P2p.Fuzz TARGET FILE                 runs one input through SharpFuzz (how a crash is reproduced)
//   QuDag.P2p.Fuzz TARGET --replay PATH...     runs files or folders through the target, uninstrumented
//   QuDag.P2p.Fuzz --list                      prints the targets and the type prefixes fuzz.sh instruments for each
if (args.Length == 0 || args[0] == "--help")
{
    Console.Error.WriteLine($"usage: QuDag.P2p.Fuzz TARGET [--replay PATH...] | --list\ntargets: {string.Join(", ", FuzzTargets.All.Keys)}");
    return 2;
}
if (args[0] == "--list")
{
    foreach (var (name, prefixes) in FuzzTargets.Instrumented)
        Console.WriteLine($"{name} {string.Join(' ', prefixes)}");
    return 0;
}
FuzzTarget target;
try
{
    target = FuzzTargets.Get(args[0]);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}
if (args.Length > 1 && args[1] == "--replay")
{
    var files = args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p) : [p]).Order(StringComparer.Ordinal).ToList();
    foreach (var file in files)
        target(File.ReadAllBytes(file));
    Console.WriteLine($"{files.Count} inputs replayed through {args[0]}, no crash.");
    return 0;
}
// SharpFuzz passes each input as a span; the entry point swallows only the decoder's typed rejection.
SharpFuzz.Fuzzer.LibFuzzer.Run(input => target(input));
return 0;
