using System.Management.Automation.Runspaces;
using Microsoft.PowerShell;
using QuDag.Host;

// qudag-host takes pwsh's own command line (-File, -Command, -NoExit, -NoProfile, -Help, ...) and runs pwsh's
// console host in this process with the QuDag module imported: PSReadLine, history, completion, prompts for
// -Confirm and pwsh's exit-code rules all come from the engine itself.
string manifest;
try
{
    manifest = QuDagRunspace.FindManifest();
}
catch (FileNotFoundException ex)
{
    Console.Error.WriteLine($"qudag-host: {ex.Message}");
    return 2;
}
QuDagRunspace.MakeDiscoverable(manifest);
// Redirected output gets plain text, as a log or a pipe wants it (pwsh honours NO_COLOR).
if (Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null)
    Environment.SetEnvironmentVariable("NO_COLOR", "1");
var iss = InitialSessionState.CreateDefault2();
iss.ImportPSModule(manifest);
return ConsoleShell.Start(iss, $"QuDag host (PowerShell {typeof(System.Management.Automation.PSObject).Assembly.GetName().Version}), module {manifest}", Usage, args);

static partial class Program
{
    private const string Usage = """
        qudag-host: pwsh with the QuDag module imported (QUDAG_MODULE names another QuDag.psd1).

        qudag-host [-File] <script.ps1> [args]   run a script; `exit N` exits N, a terminating error exits 1
        qudag-host -Command "<text>"             run commands; exits 1 when the last one failed
        qudag-host [-NoExit] [-NoProfile]        the interactive prompt (PSReadLine, history, completion)
        qudag-host -Help                         this text

        Every other pwsh parameter works as in pwsh: see `pwsh -Help`.
        """;
}
