#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, packages or cleans QuDag.PS: a thin front door to dotnet.
.DESCRIPTION
    Build publishes the cmdlet assembly and its dependencies into module/bin, so Import-Module ./QuDag.psd1
    loads it, and stamps the manifest with the version of Directory.Build.props. Package writes
    out/QuDag/<version>/, a module folder Import-Module accepts from any path. Test runs the whole suite.
    Uses only the language, .NET and dotnet, so it also runs in the hosted engine (src/QuDag.Host).
.EXAMPLE
    ./build.ps1; Import-Module ./QuDag.psd1
.EXAMPLE
    ./build.ps1 -Task Package -Configuration Release
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Clean')]
    [string] $Task = 'Build',
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug'
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
        # The project's CopyToModuleBin target fills module/bin (and module/bin/en-US) on every build.
        Invoke-Dotnet build ([IO.Path]::Combine($root, 'src/QuDag.PowerShell/QuDag.PowerShell.csproj')) -c $Configuration --nologo
        [Console]::WriteLine("Built. Import-Module $([IO.Path]::Combine($root, 'QuDag.psd1'))")
    }
    'Test' {
        Invoke-Dotnet test ([IO.Path]::Combine($root, 'QuDag.PS.sln')) -c $Configuration --nologo
    }
    'Package' {
        & $PSCommandPath -Task Build -Configuration $Configuration
        $version = Get-ProjectVersion
        $out = [IO.Path]::Combine($root, "out/QuDag/$version")
        if ([IO.Directory]::Exists($out)) { [IO.Directory]::Delete($out, $true) }
        Copy-Tree ([IO.Path]::Combine($root, 'module/bin')) ([IO.Path]::Combine($out, 'bin'))
        Copy-Tree ([IO.Path]::Combine($root, 'module/en-US')) ([IO.Path]::Combine($out, 'en-US'))
        Copy-Tree ([IO.Path]::Combine($root, 'module/examples')) ([IO.Path]::Combine($out, 'examples'))
        [IO.File]::Copy([IO.Path]::Combine($root, 'module/QuDag.Format.ps1xml'), [IO.Path]::Combine($out, 'QuDag.Format.ps1xml'), $true)
        # The shipping layout has everything beside the manifest.
        $manifest = [IO.File]::ReadAllText([IO.Path]::Combine($root, 'QuDag.psd1')).
            Replace("'module/bin/QuDag.PowerShell.dll'", "'bin/QuDag.PowerShell.dll'").
            Replace("'module/QuDag.Format.ps1xml'", "'QuDag.Format.ps1xml'")
        [IO.File]::WriteAllText([IO.Path]::Combine($out, 'QuDag.psd1'), $manifest)
        [Console]::WriteLine("Packaged $out")
    }
    'Clean' {
        Invoke-Dotnet clean ([IO.Path]::Combine($root, 'QuDag.PS.sln')) -c $Configuration --nologo
        foreach ($dir in 'module/bin', 'out') {
            $path = [IO.Path]::Combine($root, $dir)
            if ([IO.Directory]::Exists($path)) { [IO.Directory]::Delete($path, $true) }
        }
    }
}
