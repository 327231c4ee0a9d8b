using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using QuDag.Host;

// Socket counts are read process-wide, so tests must not overlap.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace QuDag.PowerShell.Tests;

/// <summary>A runspace with QuDag.psd1 imported through Import-Module, on a host whose text output we read.</summary>
internal sealed class PsHarness : IDisposable
{
    private readonly StringWriter _text = new();
    private readonly StringWriter _errorText = new();

    public PsHarness()
    {
        Host = new TextHost(_text, _errorText);
        Runspace = QuDagRunspace.Open(Host, ManifestPath);
    }

    public static string RepoRoot { get; } = Path.GetDirectoryName(QuDagRunspace.FindManifest())!;

    public static string ManifestPath => Path.Combine(RepoRoot, "QuDag.psd1");

    public TextHost Host { get; }

    public Runspace Runspace { get; }

    /// <summary>Formatted text written to the host so far.</summary>
    public string Text => _text.ToString();

    /// <summary>Runs script text; returns output objects and the error records it wrote.</summary>
    public (Collection<PSObject> Output, IReadOnlyList<ErrorRecord> Errors) Run(string script, IDictionary<string, object?>? variables = null)
    {
        using var ps = System.Management.Automation.PowerShell.Create(Runspace);
        foreach (var (name, value) in variables ?? new Dictionary<string, object?>())
            Runspace.SessionStateProxy.SetVariable(name, value);
        ps.AddScript(script);
        var output = ps.Invoke();
        return (output, ps.Streams.Error.ToList());
    }

    /// <summary>Runs script text and fails the test on any error.</summary>
    public Collection<PSObject> RunClean(string script)
    {
        var (output, errors) = Run(script);
        Assert.True(errors.Count == 0, "Unexpected errors: " + string.Join(" | ", errors.Select(e => $"{e.FullyQualifiedErrorId}: {e}")));
        return output;
    }

    /// <summary>Runs script text through Out-Default and returns the text it rendered.</summary>
    public string Render(string script)
    {
        var before = _text.ToString().Length;
        RunClean(script + " | Out-Default");
        return _text.ToString()[before..];
    }

    public void Dispose() => Runspace.Dispose();

    public static int OpenSockets() =>
        Directory.GetFiles("/proc/self/fd").Count(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true;
            }
            catch (IOException)
            {
                return false;
            }
        });
}
