using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

// Ports, sockets and child processes are shared resources: tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace QuDag.Telemetry.Tests;

/// <summary>
/// Programs from Debian packages that the end-to-end tests drive (prometheus, promtool, chromium, tmux). A missing one
/// fails the test with the apt-get line that installs it, unless QUDAG_SKIP_EXTERNAL=1, which skips it instead.
/// </summary>
internal static class External
{
    public static bool SkipWhenMissing => Environment.GetEnvironmentVariable("QUDAG_SKIP_EXTERNAL") == "1";

    /// <summary>The program's full path; fails or skips the test when it is not installed.</summary>
    public static string Require(string program, string package)
    {
        if (Find(program) is { } path)
            return path;
        var message = $"'{program}' is not installed: apt-get install -y {package} (or set QUDAG_SKIP_EXTERNAL=1 to skip this test).";
        Skip.If(SkipWhenMissing, message);
        Assert.Fail(message);
        return null!;
    }

    public static string? Find(string program)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>A free loopback port: bound, read and released (the caller binds it at once).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Runs a program to its end, bounded; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string path, IEnumerable<string> args, string? stdin = null,
        TimeSpan? timeout = null)
    {
        using var process = Start(path, args, redirectInput: stdin is not null);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(path)} did not finish within {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds} s: {await error}");
        }
        return (process.ExitCode, await output, await error);
    }

    public static Process Start(string path, IEnumerable<string> args, bool redirectInput = false, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            info.Environment[key] = value;
        return Process.Start(info) ?? throw new InvalidOperationException($"{path} did not start.");
    }

    /// <summary>Polls until <paramref name="probe"/> returns a value; fails with what was last seen after the bound.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T?>> probe, string what, TimeSpan? timeout = null) where T : class
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await probe() is { } value)
                    return value;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
            {
                last = ex; // not up yet
            }
            await Task.Delay(100);
        }
        Assert.Fail($"Timed out waiting for {what}{(last is null ? "" : $" (last error: {last.Message})")}");
        return null!;
    }
}

/// <summary>A temporary directory removed with everything in it.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("qudag-telemetry-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold a file for a moment; the OS cleans /tmp.
        }
    }
}
