using System.Collections.ObjectModel;
using System.Management.Automation;

namespace QuDag.Benchmarks;

/// <summary>One script with its parameters through a hosted PowerShell, as a caller of the module runs it; shared by
/// the cmdlet benchmarks of both programs (linked into QuDag.Benchmarks.Libp2p).</summary>
internal static class HostedScript
{
    /// <summary>Runs <paramref name="script"/> on <paramref name="ps"/>'s runspace; throws with the errors when it wrote any.</summary>
    public static Collection<PSObject> Invoke(PowerShell ps, string script, Dictionary<string, object> parameters)
    {
        ps.Commands.Clear();
        ps.Streams.ClearStreams();
        ps.AddScript(script);
        foreach (var (name, value) in parameters)
            ps.AddParameter(name, value);
        var output = ps.Invoke();
        if (ps.HadErrors)
            throw new InvalidOperationException($"'{script}' failed: {string.Join("; ", ps.Streams.Error)}");
        return output;
    }
}
