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

    /// <summary>
    /// Puts the module on this process's PSModulePath, so runspaces the host did not make (Start-ThreadJob,
    /// ForEach-Object -Parallel) import it by name as they would an installed module. A development manifest's
    /// folder is not named QuDag, so a per-user folder holds a QuDag link to it.
    /// </summary>
    public static void MakeDiscoverable(string manifest)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(manifest))!;
        string root;
        if (string.Equals(Path.GetFileName(folder), "QuDag", StringComparison.OrdinalIgnoreCase))
        {
            root = Path.GetDirectoryName(folder)!;
        }
        else
        {
            var key = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(folder)))[..16];
            root = Path.Combine(Path.GetTempPath(), $"qudag-host-{Environment.UserName}", key);
            var link = Path.Combine(root, "QuDag");
            try
            {
                Directory.CreateDirectory(root);
                if (!Directory.Exists(link))
                    Directory.CreateSymbolicLink(link, folder);
            }
            catch (IOException) when (Directory.Exists(link))
            {
                // Another host made it first.
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return; // thread jobs then need Import-Module by path, as in pwsh
            }
        }
        var current = Environment.GetEnvironmentVariable("PSModulePath");
        if (current?.Split(Path.PathSeparator).Contains(root) != true)
            Environment.SetEnvironmentVariable("PSModulePath", string.IsNullOrEmpty(current) ? root : root + Path.PathSeparator + current);
    }

    /// <summary>Creates and opens a runspace on <paramref name="host"/> with the module imported and plain-text output.</summary>
    public static Runspace Open(PSHost host, string? manifest = null, bool plainText = true)
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(manifest ?? FindManifest());
        var runspace = RunspaceFactory.CreateRunspace(host, iss);
        // One pipeline thread for the runspace's life, as pwsh's console host sets it: the default makes a new thread
        // (and its handles, left to the finalizer) for every Invoke, about half of a short command's cost here.
        runspace.ThreadOptions = PSThreadOptions.ReuseThread;
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
