using QuDag.Fuzz;

// Under libfuzzer-dotnet (fuzz.sh) SharpFuzz reads inputs from shared memory and reports each run's
// coverage and outcome. Without it, "--replay PATH..." runs files or folders through the target, and a
// single file argument is run by SharpFuzz itself (how a crash input is reproduced).
if (args.Length > 0 && args[0] == "--replay")
{
    var files = args.Skip(1).SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p) : [p]).Order(StringComparer.Ordinal).ToList();
    foreach (var file in files)
        DecoderTarget.Run(File.ReadAllBytes(file));
    Console.WriteLine($"{files.Count} inputs replayed, no crash.");
    return;
}
SharpFuzz.Fuzzer.LibFuzzer.Run(input =>
{
    try
    {
        DecoderTarget.Run(input);
    }
    catch (QuDag.Network.QuDagProtocolException)
    {
        // Decoding already treats these as outcomes; a stray one would still be no crash.
    }
});
