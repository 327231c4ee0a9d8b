using System.Management.Automation;
using System.Runtime.Loader;

namespace QuDag.PowerShell;

/// <summary>Import-Module QuDag: routes the cmdlets' dependencies to <see cref="DependencyLoadContext"/>, once per process.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    private static int s_registered;

    /// <inheritdoc/>
    public void OnImport()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
            AssemblyLoadContext.Default.Resolving += DependencyLoadContext.ResolveFromDefault;
    }
}
