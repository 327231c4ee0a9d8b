using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Xml.Linq;

namespace QuDag.PowerShell.Tests;

/// <summary>The module as a whole: manifest, formatting, help, completion, build script and examples.</summary>
public sealed class ModuleTests : IDisposable
{
    private readonly PsHarness _ps = new();

    public void Dispose() => _ps.Dispose();

    private static readonly string[] Cmdlets =
    [
        "Connect-QuDagPeer", "Disconnect-QuDagPeer", "Set-QuDagPeerStatus", "Get-QuDagPeer", "Wait-QuDagPeer",
        "Get-QuDagMetrics", "Start-QuDagListener", "Stop-QuDagListener", "Send-QuDagMessage", "Receive-QuDagMessage",
        "Test-QuDagPeer", "Get-QuDagPool", "Clear-QuDagPool", "Block-QuDagPeer", "Unblock-QuDagPeer", "Get-QuDagSession",
        "New-QuDagSession", "Set-QuDagSession", "Reset-QuDagSession",
        "Start-QuDagMetricsExporter", "Stop-QuDagMetricsExporter", "Watch-QuDagMetrics", "Export-QuDagReport",
    ];

    [Fact]
    public void The_manifest_is_valid_exports_exactly_the_cmdlets_and_carries_the_one_version()
    {
        var manifest = _ps.RunClean($"Test-ModuleManifest -Path '{PsHarness.ManifestPath}'")[0];
        var version = XDocument.Load(Path.Combine(PsHarness.RepoRoot, "Directory.Build.props")).Descendants("Version").Single().Value;
        Assert.Equal(version, manifest.Properties["Version"].Value.ToString());
        var exported = _ps.RunClean("Get-Command -Module QuDag | ForEach-Object Name").Select(o => (string)o.BaseObject).Order();
        Assert.Equal(Cmdlets.Order(), exported);
        Assert.Empty(_ps.RunClean("(Get-Module QuDag).ExportedFunctions.Keys"));
        Assert.Empty(_ps.RunClean("(Get-Module QuDag).ExportedAliases.Keys"));
        Assert.False(File.Exists(Path.Combine(PsHarness.RepoRoot, "module", "bin", "System.Management.Automation.dll")));
        // Every cmdlet declares its output and every state change supports -WhatIf.
        foreach (var name in Cmdlets)
        {
            Assert.NotEmpty(_ps.RunClean($"(Get-Command {name}).OutputType"));
            Assert.Contains("Session", _ps.RunClean($"(Get-Command {name}).Parameters.Keys").Select(o => (string)o.BaseObject)
                .Append(name == "New-QuDagSession" ? "Session" : ""));
        }
    }

    [Fact]
    public void Formatted_tables_show_the_short_id_and_status()
    {
        _ps.RunClean("$p = Start-QuDagListener -Session (New-QuDagSession); Connect-QuDagPeer $p.PeerId $p.Endpoint; Test-QuDagPeer $p.PeerId -Count 1 | Out-Null");
        var id = _ps.RunClean("$p.PeerId")[0].BaseObject.ToString()!;

        var table = _ps.Render("Get-QuDagPeer");

        Assert.Matches(@"PeerId\s+Status\s+Endpoint\s+LatencyMs", table);
        Assert.Contains(id[..16] + " Connected", table);
        Assert.DoesNotContain(id, table); // the short form, not all 64 characters
        Assert.DoesNotContain("\u001b[", table);
        var metrics = _ps.Render("Get-QuDagMetrics");
        Assert.Matches(@"OpenConnections\s+: 1 of 100", metrics);
        Assert.Matches(@"AvgLatencyMs\s+: \d", metrics);
    }

    [Fact]
    public void Get_Help_Full_documents_every_cmdlet_with_parameters_and_examples()
    {
        foreach (var name in Cmdlets)
        {
            var help = _ps.RunClean($"Get-Help {name} -Full")[0];
            var synopsis = ((string)help.Properties["Synopsis"].Value).Trim();
            Assert.False(string.IsNullOrWhiteSpace(synopsis) || synopsis.StartsWith(name, StringComparison.Ordinal), $"{name} has no synopsis");
            Assert.NotEmpty(_ps.RunClean($"(Get-Help {name} -Full).examples.example"));
            var documented = _ps.RunClean($"(Get-Help {name} -Full).parameters.parameter | ForEach-Object name").Select(o => (string)o.BaseObject).ToHashSet();
            var declared = _ps.RunClean($"(Get-Command {name}).Parameters.Keys").Select(o => (string)o.BaseObject)
                .Where(p => !CommonParameters.Contains(p));
            Assert.All(declared, p => Assert.Contains(p, documented));
        }
        var about = string.Join("\n", _ps.RunClean("Get-Help about_QuDag").Select(o => o.ToString()));
        Assert.Contains("pool", about, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("MaxConnections", about);
    }

    private static readonly HashSet<string> CommonParameters =
    [
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable",
        "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable",
    ];

    [Fact]
    public void TabExpansion2_completes_known_peer_ids()
    {
        _ps.RunClean("$p = Start-QuDagListener -Session (New-QuDagSession); Connect-QuDagPeer $p.PeerId $p.Endpoint");
        var id = _ps.RunClean("$p.PeerId")[0].BaseObject.ToString()!;
        var input = $"Get-QuDagPeer -PeerId {id[..3]}";

        var completions = _ps.RunClean($"(TabExpansion2 -inputScript '{input}' -cursorColumn {input.Length}).CompletionMatches | ForEach-Object CompletionText");

        Assert.Equal([id], completions.Select(c => (string)c.BaseObject));
    }

    [Fact]
    public void The_quickstart_runs_in_the_embedded_host_and_exits_0()
    {
        var (code, output, error) = RunHost("-File", Path.Combine(PsHarness.RepoRoot, "module", "examples", "quickstart.ps1"));
        Assert.True(code == 0, $"exit {code}\n{output}\n{error}");
        Assert.Matches(@"PeerId\s+Status\s+Endpoint", output);
        Assert.Contains("1, 1 (1 each", output);
        Assert.DoesNotContain("\u001b[", output);
    }

    [Fact]
    public void The_host_exits_non_zero_when_a_script_fails()
    {
        Assert.Equal(1, RunHost("-Command", "throw 'boom'").Code);
        Assert.Equal(3, RunHost("-Command", "exit 3").Code);
    }

    [Fact]
    public void The_Pester_example_parses_and_calls_only_commands_that_exist()
    {
        var path = Path.Combine(PsHarness.RepoRoot, "module", "examples", "Runbook.Tests.ps1");
        var ast = Parser.ParseFile(path, out _, out var errors);
        Assert.Empty(errors);
        string[] pester = ["BeforeAll", "AfterAll", "BeforeEach", "AfterEach", "Describe", "Context", "It", "Should"];
        var defined = ast.FindAll(a => a is FunctionDefinitionAst, true).Cast<FunctionDefinitionAst>().Select(f => f.Name).ToHashSet();
        var called = ast.FindAll(a => a is CommandAst, true).Cast<CommandAst>().Select(c => c.GetCommandName()).OfType<string>().Distinct();
        foreach (var name in called.Where(n => !pester.Contains(n) && !defined.Contains(n)))
            Assert.True(_ps.RunClean($"@(Get-Command '{name}' -ErrorAction Ignore).Count")[0].BaseObject is 1, $"'{name}' is not a command");
        Assert.Contains("Start-QuDagListener", called);
    }

    [Fact]
    public void Build_ps1_builds_in_the_hosted_engine()
    {
        var (output, errors) = _ps.Run($"& '{Path.Combine(PsHarness.RepoRoot, "build.ps1")}' -Task Build");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.Contains(output, o => o.ToString().Contains("Build succeeded", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(PsHarness.RepoRoot, "module", "bin", "QuDag.PowerShell.dll")));
    }

    private static (int Code, string Output, string Error) RunHost(params string[] args)
    {
        var hostDll = Path.Combine(AppContext.BaseDirectory, "qudag-host.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(hostDll);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["QUDAG_MODULE"] = PsHarness.ManifestPath;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the host did not exit within 2 minutes");
        }
        return (process.ExitCode, output.Result, error.Result);
    }
}
