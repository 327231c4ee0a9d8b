#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, packages or cleans QuDag.PS: a thin front door to dotnet, run with `dotnet pwsh ./build.ps1`.
.DESCRIPTION
    Build publishes the cmdlet assembly into module/bin and its dependencies into module/bin/deps (loaded in the
    module's own AssemblyLoadContext), so Import-Module ./QuDag.psd1 loads it, and stamps the manifest with the
    version of Directory.Build.props.
    Test runs every xunit suite (dotnet test QuDag.PS.sln) and then the Pester suites in a fresh `dotnet pwsh`
    (tests/QuDag.Module.Tests/Invoke-ModuleTests.ps1, NUnit XML in TestResults/pester.xml); it fails when either
    fails, after running both.
    Package writes out/QuDag/<version>/, a module folder that Import-Module accepts from any path and that
    Publish-PSResource publishes to a repository (Install-PSResource QuDag then installs it). It holds the native
    libraries (SkiaSharp and HarfBuzz for the report's charts, libsodium) of one platform, -Runtime (this machine's by
    default): about 19 MB for linux-x64, where every platform pwsh 7.6 runs on (-Runtime All) makes about 85 MB.
.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1; dotnet pwsh -c 'Import-Module ./QuDag.psd1'
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Test
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Package -Configuration Release
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Package -Runtime win-x64
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Clean')]
    [string] $Task = 'Build',
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug',
    # The platform whose native libraries Package ships: one pwsh 7.6 runs on, or All.
    [ValidateSet('linux-x64', 'linux-arm64', 'linux-musl-x64', 'osx-x64', 'osx-arm64', 'win-x64', 'win-arm64', 'All')]
    [string] $Runtime = [Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
)
$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

function Get-ProjectVersion {
    $props = [xml][IO.File]::ReadAllText([IO.Path]::Combine($root, 'Directory.Build.props'))
    return $props.Project.PropertyGroup.Version | Where-Object { $_ } | ForEach-Object { "$_".Trim() }
}

function Set-ManifestVersion([string] $Path, [string] $Version) {
    $text = [IO.File]::ReadAllText($Path)
    $stamped = [regex]::Replace($text, "ModuleVersion\s*=\s*'[^']*'", "ModuleVersion        = '$Version'")
    if ($stamped -ne $text) { [IO.File]::WriteAllText($Path, $stamped) }
}

function Copy-Tree([string] $From, [string] $To) {
    [IO.Directory]::CreateDirectory($To) | Out-Null
    foreach ($file in [IO.Directory]::GetFiles($From, '*', [IO.SearchOption]::AllDirectories)) {
        $target = [IO.Path]::Combine($To, [IO.Path]::GetRelativePath($From, $file))
        [IO.Directory]::CreateDirectory([IO.Path]::GetDirectoryName($target)) | Out-Null
        [IO.File]::Copy($file, $target, $true)
    }
}

switch ($Task) {
    'Build' {
        Set-ManifestVersion ([IO.Path]::Combine($root, 'QuDag.psd1')) (Get-ProjectVersion)
        # The project's CopyToModuleBin target fills module/bin, module/bin/deps and en-US on every build.
        Invoke-Dotnet build ([IO.Path]::Combine($root, 'src/QuDag.PowerShell/QuDag.PowerShell.csproj')) -c $Configuration --nologo
        [Console]::WriteLine("Built. Import-Module $([IO.Path]::Combine($root, 'QuDag.psd1'))")
    }
    'Test' {
        # Both suites run even when the first fails, so one run shows every failure.
        & dotnet test ([IO.Path]::Combine($root, 'QuDag.PS.sln')) -c $Configuration --nologo
        $xunit = $LASTEXITCODE
        # The module and the host are built by the solution; the Pester suites run in a fresh pwsh that loads
        # the module as a user does, never in this process.
        $pwsh = (Get-Process -Id $PID).Path
        $pwshArgs = @(if ([Environment]::GetCommandLineArgs()[0] -like '*.dll') { [Environment]::GetCommandLineArgs()[0] })
        & $pwsh @pwshArgs -NoProfile -NonInteractive -File ([IO.Path]::Combine($root, 'tests/QuDag.Module.Tests/Invoke-ModuleTests.ps1')) -NoBuild
        $pester = $LASTEXITCODE
        if ($xunit -ne 0 -or $pester -ne 0) {
            throw "Tests failed: dotnet test exit code $xunit, Pester exit code $pester."
        }
        [Console]::WriteLine('All tests passed: xunit and Pester.')
    }
    'Package' {
        & $PSCommandPath -Task Build -Configuration $Configuration
        $version = Get-ProjectVersion
        $out = [IO.Path]::Combine($root, "out/QuDag/$version")
        if ([IO.Directory]::Exists($out)) { [IO.Directory]::Delete($out, $true) }
        # bin/ keeps its layout: the cmdlet assembly alone, every dependency under bin/deps, and the native libraries
        # of -Runtime under bin/deps/runtimes/<rid>/native (macOS's SkiaSharp and HarfBuzz are one universal build, in osx/).
        $bin = [IO.Path]::Combine($root, 'module/bin')
        $runtimes = [IO.Path]::Combine($bin, 'deps', 'runtimes')
        $shipped = if ($Runtime -eq 'All') { [IO.Directory]::GetDirectories($runtimes).ForEach({ [IO.Path]::GetFileName($_) }) }
                   elseif ($Runtime -like 'osx-*') { $Runtime, 'osx' } else { , $Runtime }
        foreach ($file in [IO.Directory]::GetFiles($bin, '*', [IO.SearchOption]::AllDirectories)) {
            $relative = [IO.Path]::GetRelativePath($bin, $file)
            if ($relative.StartsWith([IO.Path]::Combine('deps', 'runtimes') + [IO.Path]::DirectorySeparatorChar) -and
                $relative.Split([IO.Path]::DirectorySeparatorChar)[2] -notin $shipped) { continue }
            $target = [IO.Path]::Combine($out, 'bin', $relative)
            [IO.Directory]::CreateDirectory([IO.Path]::GetDirectoryName($target)) | Out-Null
            [IO.File]::Copy($file, $target, $true)
        }
        Copy-Tree ([IO.Path]::Combine($root, 'module/en-US')) ([IO.Path]::Combine($out, 'en-US'))
        Copy-Tree ([IO.Path]::Combine($root, 'module/examples')) ([IO.Path]::Combine($out, 'examples'))
        [IO.File]::Copy([IO.Path]::Combine($root, 'module/QuDag.Format.ps1xml'), [IO.Path]::Combine($out, 'QuDag.Format.ps1xml'), $true)
        # The shipping layout has everything beside the manifest.
        $manifest = [IO.File]::ReadAllText([IO.Path]::Combine($root, 'QuDag.psd1')).
            Replace("'module/bin/QuDag.PowerShell.dll'", "'bin/QuDag.PowerShell.dll'").
            Replace("'module/QuDag.Format.ps1xml'", "'QuDag.Format.ps1xml'").
            Replace('# Development layout: build.ps1 -Task Build fills module/bin; -Task Package writes the shipping layout.', '# Shipping layout, written by build.ps1 -Task Package.')
        [IO.File]::WriteAllText([IO.Path]::Combine($out, 'QuDag.psd1'), $manifest)
        $size = ([IO.DirectoryInfo]::new($out).EnumerateFiles('*', [IO.SearchOption]::AllDirectories) | Measure-Object Length -Sum).Sum
        [Console]::WriteLine("Packaged $out ($Runtime, $([Math]::Round($size / 1MB, 1)) MB)")
    }
    'Clean' {
        Invoke-Dotnet clean ([IO.Path]::Combine($root, 'QuDag.PS.sln')) -c $Configuration --nologo
        foreach ($dir in 'module/bin', 'out', 'en-US', 'TestResults') {
            $path = [IO.Path]::Combine($root, $dir)
            if ([IO.Directory]::Exists($path)) { [IO.Directory]::Delete($path, $true) }
        }
    }
}
