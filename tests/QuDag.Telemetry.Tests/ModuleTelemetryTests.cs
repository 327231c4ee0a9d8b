using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using QuDag.Host;

namespace QuDag.Telemetry.Tests;

/// <summary>
/// The telemetry cmdlets in the module as users run them: the Pester suite (tests/QuDag.Module.Tests/Telemetry.Tests.ps1)
/// with its output redirected into the host, Remove-Module, and Watch-QuDagMetrics redrawing in a real terminal (tmux).
/// </summary>
public sealed class ModuleTelemetryTests
{
    private static readonly string RepoRoot = Path.GetDirectoryName(QuDagRunspace.FindManifest())!;

    [Fact]
    public void The_Pester_suite_passes_with_its_output_redirected()
    {
        var pester = Path.Combine(NuGetRoot(), "pester", "5.7.1", "tools", "Pester.psd1");
        Assert.True(File.Exists(pester), $"Pester 5.7.1 is not in the NuGet cache at {pester}: restore this project (it downloads it).");
        var suite = Path.Combine(RepoRoot, "tests", "QuDag.Module.Tests", "Telemetry.Tests.ps1");
        var text = new StringWriter();
        using var runspace = QuDagRunspace.Open(new TextHost(text, text, plainText: true));
        using var ps = PowerShell.Create(runspace);
        ps.AddScript("""
            param($Pester, $Suite)
            Import-Module $Pester -Force
            $config = New-PesterConfiguration
            $config.Run.Path = $Suite
            $config.Run.PassThru = $true
            $config.Output.Verbosity = 'Detailed'
            Invoke-Pester -Configuration $config
            """).AddParameter("Pester", pester).AddParameter("Suite", suite);

        var result = ps.Invoke().Single();

        var failed = (int)result.Properties["FailedCount"].Value;
        var passed = (int)result.Properties["PassedCount"].Value;
        var total = (int)result.Properties["TotalCount"].Value;
        // Every test the suite has ran and passed (not a count written here, which went stale when the suite grew).
        Assert.True(failed == 0 && passed > 0 && passed == total, $"Pester: {passed} of {total} passed, {failed} failed\n{text}");
    }

    [Fact]
    public async Task Remove_Module_stops_the_exporter()
    {
        using var runspace = QuDagRunspace.Open(new TextHost(TextWriter.Null, TextWriter.Null));
        using var ps = PowerShell.Create(runspace);
        var port = External.FreePort();
        ps.AddScript($"(Start-QuDagMetricsExporter -Prometheus -Port {port}).PrometheusEndpoint.ToString()");
        var endpoint = (string)ps.Invoke().Single().BaseObject;
        using (var http = new HttpClient())
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(endpoint)).StatusCode);

        ps.Commands.Clear();
        ps.AddScript("Remove-Module QuDag").Invoke();
        Assert.Empty(ps.Streams.Error);

        using var again = new TcpListener(IPAddress.Loopback, port); // the port is free again
        again.Start();
    }

    [SkippableFact]
    public async Task Watch_redraws_in_place_in_a_terminal_and_Ctrl_C_stops_it()
    {
        var tmux = External.Require("tmux", "tmux");
        var host = Path.Combine(AppContext.BaseDirectory, "qudag-host.dll");
        using var dir = new TempDir();
        var name = $"qudag-watch-{Environment.ProcessId}";
        var script = dir.File("watch.ps1");
        File.WriteAllText(script, """
            $peer = New-QuDagSession -Name watched-peer
            $listener = Start-QuDagListener -Session $peer
            Connect-QuDagPeer -PeerId $listener.PeerId -Endpoint $listener.Endpoint
            Test-QuDagPeer -PeerId $listener.PeerId -Count 2 | Out-Null
            "SHORT-ID $((Get-QuDagPeer $listener.PeerId).ShortId) NODE $((Get-QuDagSession).PeerId.Substring(0, 2))*$((Get-QuDagSession).PeerId.Substring(46))"
            Watch-QuDagMetrics -IntervalSeconds 1 -Count 3
            'WATCH-DONE'
            Watch-QuDagMetrics -IntervalSeconds 1
            'NOT-REACHED'
            """);
        var exitFile = dir.File("exit");
        // A real terminal: the host sees a TTY, so the view redraws in place; the exit code lands in a file.
        var command = $"dotnet '{host}' -File '{script}'; echo $? > '{exitFile}'; sleep 60";
        await Tmux(tmux, "new-session", "-d", "-s", name, "-x", "140", "-y", "40", command);
        try
        {
            var screen = await PaneUntilAsync(tmux, name, s => s.Contains("WATCH-DONE") && s.Contains("refresh 2 every"));

            // Three refreshes drew over each other: the header is on the screen once per Watch call, not once per refresh.
            Assert.Equal(2, CountOf(screen, "QuDag Default "));
            Assert.Contains("refresh 3/3", screen);
            Assert.DoesNotContain("refresh 1/3", screen);
            Assert.DoesNotContain("refresh 2/3", screen);
            Assert.Contains("Connections 1 active", screen);
            Assert.Contains("Connected", screen);
            // Peers and the node go by the short id the tables show (12*Y3kHBc), not the first 16 characters, which
            // every Ed25519 id shares ("12D3KooW" and 8 more that say little).
            var ids = System.Text.RegularExpressions.Regex.Match(screen, @"SHORT-ID (\S+) NODE (\S+)");
            Assert.True(ids.Success, screen);
            Assert.Matches(@"^12\*\w{6}$", ids.Groups[1].Value);
            Assert.Contains($"\n{ids.Groups[1].Value}  Connected", screen);
            Assert.Contains($"QuDag Default {ids.Groups[2].Value} ", screen);

            await Tmux(tmux, "send-keys", "-t", name, "C-c");
            await External.UntilAsync(() => Task.FromResult(File.Exists(exitFile) && File.ReadAllText(exitFile).Trim().Length > 0 ? "" : null),
                "the host to exit after Ctrl+C", TimeSpan.FromSeconds(20));
            // Stopped by Ctrl+C: the endless watch ended the script there (the host reports a stopped script as exit 0).
            var after = (await External.RunAsync(tmux, ["-L", Socket, "capture-pane", "-p", "-t", name])).Output;
            Assert.DoesNotContain("NOT-REACHED", after);
        }
        finally
        {
            await Tmux(tmux, "kill-session", "-t", name);
        }
    }

    private static async Task<string> PaneUntilAsync(string tmux, string name, Func<string, bool> condition)
    {
        var last = "";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            last = (await External.RunAsync(tmux, ["-L", Socket, "capture-pane", "-p", "-t", name])).Output;
            if (condition(last))
                return last;
            await Task.Delay(200);
        }
        Assert.Fail($"The terminal never showed what was expected; it shows:\n{last}");
        return last;
    }

    // A server of our own (-L): the machine's default tmux server may be someone else's, with their sessions.
    private static readonly string Socket = $"qudag-test-{Environment.ProcessId}";

    private static async Task Tmux(string tmux, params string[] args)
    {
        var (exit, _, error) = await External.RunAsync(tmux, ["-L", Socket, .. args]);
        Assert.True(exit == 0 || args[0] == "kill-session", $"tmux {string.Join(' ', args)} exited {exit}: {error}");
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
            count++;
        return count;
    }

    private static string NuGetRoot() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } root
            ? root
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
}
