using System.Reflection;
using System.Runtime.InteropServices;

namespace QuDag.Telemetry;

/// <summary>
/// Finds SkiaSharp's and HarfBuzzSharp's native libraries under runtimes/&lt;rid&gt;/native beside their assemblies.
/// A .NET program finds them through its deps.json; pwsh does not read a binary module's deps.json, so the module would
/// fail with DllNotFoundException without this. Where a resolver is already set, or the file is elsewhere, the
/// runtime's own probing applies.
/// </summary>
internal static class SkiaNative
{
    private static int s_registered;

    public static void EnsureResolvable()
    {
        if (Interlocked.Exchange(ref s_registered, 1) != 0)
            return;
        Register(typeof(SkiaSharp.SKCanvas).Assembly, "libSkiaSharp");
        Register(typeof(HarfBuzzSharp.Blob).Assembly, "libHarfBuzzSharp");
    }

    private static void Register(Assembly assembly, string library)
    {
        try
        {
            NativeLibrary.SetDllImportResolver(assembly, (name, from, _) => name == library && Find(from, library) is { } handle ? handle : IntPtr.Zero);
        }
        catch (InvalidOperationException)
        {
            // The host set a resolver for this assembly already: it knows where its files are.
        }
    }

    private static IntPtr? Find(Assembly from, string library)
    {
        var directory = Path.GetDirectoryName(from.Location);
        if (string.IsNullOrEmpty(directory))
            return null;
        var (os, extension) = OperatingSystem.IsWindows() ? ("win", ".dll") : OperatingSystem.IsMacOS() ? ("osx", ".dylib") : ("linux", ".so");
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        foreach (var rid in new[] { $"{os}-{arch}", $"{os}-musl-{arch}", os })
        {
            var path = Path.Combine(directory, "runtimes", rid, "native", library + extension);
            if (File.Exists(path) && NativeLibrary.TryLoad(path, out var handle))
                return handle;
        }
        return null;
    }
}
