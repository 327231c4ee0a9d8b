#Requires -Version 7.4
<#
.SYNOPSIS
    Runs the module's Pester suites (tests/QuDag.Module.Tests/*.Tests.ps1 and module/examples/Runbook.Tests.ps1)
    in this pwsh, against QuDag.psd1 as a user imports it.
.DESCRIPTION
    Pester comes from NuGet, not PSGallery: Pester.proj downloads it into the NuGet cache and this script imports
    tools/Pester.psd1 from there by path. Suites restore their own fixtures (Fixtures/Fixtures.proj). Writes NUnit XML to TestResults/pester.xml, prints a closing line
    "Pester: N passed, N failed, N skipped", and exits 1 when a test failed (0 otherwise).
.EXAMPLE
    dotnet pwsh tests/QuDag.Module.Tests/Invoke-ModuleTests.ps1
.EXAMPLE
    dotnet pwsh tests/QuDag.Module.Tests/Invoke-ModuleTests.ps1 -Path tests/QuDag.Module.Tests/Session.Tests.ps1 -NoBuild
#>
[CmdletBinding()]
param(
    # Suites to run; by default every suite and the runbook example.
    [string[]] $Path,
    # Skip building the module and the host (the caller just did).
    [switch] $NoBuild,
    [ValidateSet('None', 'Normal', 'Detailed', 'Diagnostic')]
    [string] $Output = 'Normal'
)
$ErrorActionPreference = 'Stop'
$root = [IO.Path]::GetFullPath([IO.Path]::Combine($PSScriptRoot, '../..'))
$pesterProject = [IO.Path]::Combine($PSScriptRoot, 'Pester.proj')
$pesterVersion = ([xml](Get-Content -Raw $pesterProject)).Project.PropertyGroup.PesterVersion | Where-Object { $_ } | Select-Object -First 1

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

# Restored on every run, never "when missing": a cache that holds Pester through another project must not decide.
. ([IO.Path]::Combine($PSScriptRoot, 'NuGet.ps1'))
$pester = [IO.Path]::Combine((Restore-NuGetPackage $pesterProject Pester $pesterVersion), 'tools', 'Pester.psd1')
if (-not $NoBuild) {
    Invoke-Dotnet build ([IO.Path]::Combine($root, 'src/QuDag.Host/QuDag.Host.csproj')) --nologo -v quiet '-clp:ErrorsOnly'
}
Import-Module $pester -RequiredVersion $pesterVersion -Force

$config = New-PesterConfiguration
$config.Run.Path = if ($Path) { $Path -split ',' | Where-Object { $_ } } else { @($PSScriptRoot, [IO.Path]::Combine($root, 'module/examples/Runbook.Tests.ps1')) }
$config.Run.PassThru = $true
$config.Output.Verbosity = $Output
# A log written to a file or by CI carries no colour codes: Pester writes ANSI whenever pwsh's host can.
if ($env:NO_COLOR -or [Console]::IsOutputRedirected) {
    $PSStyle.OutputRendering = 'PlainText'
    $config.Output.RenderMode = 'Plaintext'
}
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = [IO.Path]::Combine($root, 'TestResults', 'pester.xml')
$result = $null
try {
    $result = Invoke-Pester -Configuration $config
}
catch {
    Write-Error -ErrorRecord $_ -ErrorAction Continue
}
if ($null -eq $result) {
    [Console]::WriteLine('Pester: 0 passed, 1 failed')
    exit 1
}

$line = "Pester: $($result.PassedCount) passed, $($result.FailedCount) failed"
if ($result.SkippedCount) { $line += ", $($result.SkippedCount) skipped" }
[Console]::WriteLine($line)
exit ([int]($result.FailedCount -gt 0 -or $result.FailedBlocksCount -gt 0 -or $result.FailedContainersCount -gt 0 -or $result.Result -ne 'Passed'))
