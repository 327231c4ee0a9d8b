using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace QuDag.PowerShell;

/// <summary>
/// The module's own load context: every dependency (the core, Polly, MemoryCache, NSec, ...) loads from
/// <c>bin/deps</c> here, so another module or script that loaded a different version of one of them into the
/// default context does not break QuDag, nor QuDag it. Native libraries (libsodium for NSec) resolve from
/// <c>bin/deps/runtimes/&lt;rid&gt;/native</c>, since pwsh does not read a module's deps.json.
/// This is the pattern of PowerShell's "Resolving PowerShell module assembly dependency conflicts".
/// </summary>
public sealed class DependencyLoadContext : AssemblyLoadContext
{
    private static readonly string s_depsDirectory =
        Path.Combine(Path.GetDirectoryName(typeof(DependencyLoadContext).Assembly.Location)!, "deps");

    private DependencyLoadContext()
        : base("QuDag", isCollectible: false)
    {
    }

    /// <summary>The one instance of the process: sessions are shared across runspaces, so their types must be too.</summary>
    public static DependencyLoadContext Instance { get; } = new();

    /// <summary>The folder the dependencies load from.</summary>
    public static string DepsDirectory => s_depsDirectory;

    /// <inheritdoc/>
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Ours when we carry it; otherwise (the framework, the engine) the default context's.
        var path = Path.Combine(s_depsDirectory, assemblyName.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    /// <inheritdoc/>
    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        foreach (var candidate in NativeCandidates(unmanagedDllName))
        {
            if (File.Exists(candidate))
                return LoadUnmanagedDllFromPath(candidate);
        }
        return IntPtr.Zero; // the platform's own search
    }

    private static IEnumerable<string> NativeCandidates(string name)
    {
        var extension = OperatingSystem.IsWindows() ? ".dll" : OperatingSystem.IsMacOS() ? ".dylib" : ".so";
        var file = name.EndsWith(extension, StringComparison.OrdinalIgnoreCase) ? name : name + extension;
        var native = Path.Combine(s_depsDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native");
        yield return Path.Combine(native, file);
        if (!file.StartsWith("lib", StringComparison.Ordinal) && !OperatingSystem.IsWindows())
            yield return Path.Combine(native, "lib" + file);
    }

    /// <summary>
    /// The bridge: the default context (where pwsh loaded the cmdlet assembly) cannot find the cmdlets' direct
    /// dependencies, which live only in bin/deps, and asks here; they load into this context, and so do theirs.
    /// </summary>
    internal static Assembly? ResolveFromDefault(AssemblyLoadContext context, AssemblyName name)
    {
        var path = Path.Combine(s_depsDirectory, name.Name + ".dll");
        return File.Exists(path) ? Instance.LoadFromAssemblyName(name) : null;
    }
}
