# Dot-sourced by Invoke-ModuleTests.ps1 (Pester) and Common.ps1 (test fixtures): what a test needs from NuGet it
# restores itself, every time, so a cold cache (a fresh machine, a new CI runner) behaves as a warm one. A restore
# that has nothing to do costs about a second.

# Restores a restore-only project (PackageDownload items) and returns the folder of one package it brings, in the
# NuGet cache this machine uses (NUGET_PACKAGES, a nuget.config's globalPackagesFolder, or ~/.nuget/packages).
function Restore-NuGetPackage([string] $Project, [string] $Id, [string] $Version) {
    $log = & dotnet restore $Project --nologo -v quiet 2>&1
    if ($LASTEXITCODE -ne 0) { throw "dotnet restore $Project failed with exit code ${LASTEXITCODE}: $($log -join "`n")" }
    $cache = (& dotnet nuget locals global-packages --list --force-english-output) -replace '^global-packages:\s*', ''
    $folder = [IO.Path]::Combine($cache.Trim(), $Id.ToLowerInvariant(), $Version)
    if (-not [IO.Directory]::Exists($folder)) { throw "dotnet restore $Project did not bring $Id $Version into $folder." }
    $folder
}
