using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;

namespace QuDag.Host;

/// <summary>Opens a runspace with the QuDag module imported from its manifest, as a user's Import-Module does.</summary>
public static class QuDagRunspace
{
    /// <summary>The QuDag.psd1 to import: $QUDAG_MODULE, else the first found walking up from the host and the current directory.</summary>
    public static string FindManifest()
    {
        if (Environment.GetEnvironmentVariable("QUDAG_MODULE") is { Length: > 0 } fromEnvironment)
            return Path.GetFullPath(fromEnvironment);
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "QuDag.psd1");
                if (File.Exists(candidate))
                    return candidate;
            }
        }
        throw new FileNotFoundException("QuDag.psd1 was not found above the host or the current directory; set QUDAG_MODULE to its path.");
    }

    /// <summary>Creates and opens a runspace on <paramref name="host"/> with the module imported and plain-text output.</summary>
    public static Runspace Open(PSHost host, string? manifest = null, bool plainText = true)
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(manifest ?? FindManifest());
        var runspace = RunspaceFactory.CreateRunspace(host, iss);
        runspace.Open();
        using var ps = PowerShell.Create(runspace);
        if (plainText)
            ps.AddScript("$PSStyle.OutputRendering = 'PlainText'").Invoke();
        // An import failure is reported here rather than as a confusing 'command not found' later.
        ps.Commands.Clear();
        var imported = ps.AddScript("Get-Module QuDag").Invoke();
        if (imported.Count == 0)
            throw new InvalidOperationException("The QuDag module did not import: " + string.Join("; ", ps.Streams.Error));
        return runspace;
    }
}
