# Isolation (the module's own load context, native libsodium) and packaging (Publish-/Install-PSResource), each in a
# fresh pwsh so that nothing this test process loaded can help or hide a failure.
BeforeAll { . $PSScriptRoot/Common.ps1 }

Describe 'Dependency isolation' {
    It 'imports QuDag after another version of a shared dependency is loaded, and both work' {
        # The fixture is restored here, by the test that needs it: a cold NuGet cache must pass as a warm one.
        $polly = Join-Path (Restore-NuGetPackage (Join-Path $PSScriptRoot 'Fixtures/Fixtures.proj') Polly.Core 8.4.2) 'lib/net8.0/Polly.Core.dll'
        $polly | Should -Exist
        $result = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
Add-Type -Path '$polly'
Import-Module '$Manifest'
# QuDag's reconnect runs on its own Polly (its circuit breaker is its own code since the breaker counts dials in a
# row): a peer lost with -AutoReconnect starts the retry loop, which loads Polly into QuDag's context.
`$s = New-QuDagSession
`$remote = New-QuDagSession
`$listener = Start-QuDagListener -Session `$remote
Connect-QuDagPeer `$listener.PeerId `$listener.Endpoint -Session `$s -AutoReconnect
Remove-QuDagSession `$remote -Confirm:`$false
`$deadline = [DateTime]::UtcNow.AddSeconds(30)
while ((Get-QuDagMetrics -Session `$s).ReconnectAttempts -lt 1 -and [DateTime]::UtcNow -lt `$deadline) { Start-Sleep -Milliseconds 20 }
'reconnecting=' + ((Get-QuDagMetrics -Session `$s).ReconnectAttempts -ge 1)
# The script's own Polly 8.4.2 still works.
`$pipeline = [Polly.ResiliencePipelineBuilder]::new().Build()
'script=' + `$pipeline.Execute[int]([Func[int]] { 42 })
foreach (`$a in [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'Polly.Core' }) {
    'polly=' + [Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$a).Name + ' ' + [Diagnostics.FileVersionInfo]::GetVersionInfo(`$a.Location).FileVersion
}
"@
        $result.ExitCode | Should -Be 0 -Because $result.Output
        $result.Output | Should -Match 'reconnecting=True'
        $result.Output | Should -Match 'script=42'
        $result.Output | Should -Match 'polly=Default 8\.4\.2'
        $result.Output | Should -Match 'polly=QuDag 8\.9\.1'
    }

    It 'loads NSec and native libsodium through the module''s load context' {
        $deps = Join-Path $RepoRoot 'module/bin/deps'
        $result = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
Import-Module '$Manifest'
Add-Type -IgnoreWarnings -ReferencedAssemblies '$deps/NSec.Cryptography.dll' -TypeDefinition @'
public static class NSecProbe {
    public static bool SignAndVerify() {
        var algorithm = NSec.Cryptography.SignatureAlgorithm.Ed25519;
        using var key = NSec.Cryptography.Key.Create(algorithm);
        var data = new byte[] { 1, 2, 3 };
        var signature = algorithm.Sign(key, data);
        return algorithm.Verify(key.PublicKey, data, signature) && !algorithm.Verify(key.PublicKey, new byte[] { 1, 2, 4 }, signature);
    }
}
'@
'verified=' + [NSecProbe]::SignAndVerify()
`$nsec = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'NSec.Cryptography' }
'context=' + [Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$nsec).Name
"@
        $result.ExitCode | Should -Be 0 -Because $result.Output
        $result.Output | Should -Match 'verified=True'
        $result.Output | Should -Match 'context=QuDag'
    }

    It 'keeps every dependency out of the module folder''s root' {
        (Get-ChildItem (Join-Path $RepoRoot 'module/bin') -Filter *.dll).Name | Should -Be 'QuDag.PowerShell.dll'
        Join-Path $RepoRoot "module/bin/deps/runtimes/$([Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier)/native" | Should -Exist
    }
}

Describe 'Packaging' {
    BeforeAll {
        $build = & (Get-Process -Id $PID).Path @(if ([Environment]::GetCommandLineArgs()[0] -like '*.dll') { [Environment]::GetCommandLineArgs()[0] }) -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'build.ps1') -Task Package 2>&1
        if ($LASTEXITCODE -ne 0) { throw "build.ps1 -Task Package failed: $build" }
        $version = (Import-PowerShellDataFile $Manifest).ModuleVersion
        $script:packaged = Join-Path $RepoRoot "out/QuDag/$version"
        # A temporary home: the repository registration and the CurrentUser scope land there, never in the user's folders.
        $script:tempHome = Join-Path $TestDrive 'home'
        $script:isolated = @{
            HOME = $tempHome; XDG_DATA_HOME = "$tempHome/.local/share"; XDG_CONFIG_HOME = "$tempHome/.config"; XDG_CACHE_HOME = "$tempHome/.cache"
            PSModulePath = $null
        }
        $script:repo = Join-Path $TestDrive 'repo'
        # .NET gives no application-data folder that does not exist yet, and PSResourceGet then writes to the current directory.
        $null = New-Item -ItemType Directory $repo, "$tempHome/.local/share", "$tempHome/.config", "$tempHome/.cache"
    }

    It 'ships the native libraries of this platform alone, in under 30 MB' {
        $rid = [Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
        $expected = @($rid; if ($rid -like 'osx-*') { 'osx' }) | Sort-Object
        (Get-ChildItem (Join-Path $packaged 'bin/deps/runtimes') -Directory).Name | Sort-Object | Should -Be $expected
        $natives = (Get-ChildItem (Join-Path $packaged 'bin/deps/runtimes') -Recurse -File).BaseName
        foreach ($library in 'libSkiaSharp', 'libHarfBuzzSharp', 'libsodium') { $natives | Should -Contain $library }
        $size = (Get-ChildItem $packaged -Recurse -File | Measure-Object Length -Sum).Sum
        $size | Should -BeLessThan 30MB -Because "the package holds $([Math]::Round($size / 1MB, 1)) MB"
    }

    It 'publishes to a local file repository and installs from it with PSResourceGet' {
        $result = Invoke-FreshPwsh -Environment $isolated @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name QuDagLocal -Uri '$repo' -Trusted
Publish-PSResource -Path '$packaged' -Repository QuDagLocal
Install-PSResource -Name QuDag -Repository QuDagLocal -Scope CurrentUser -TrustRepository
'installed=' + (Get-Module QuDag -ListAvailable).ModuleBase
"@
        $result.ExitCode | Should -Be 0 -Because $result.Output
        Get-ChildItem $repo -Filter 'QuDag.*.nupkg' | Should -Not -BeNullOrEmpty
        $result.Output | Should -Match ([regex]::Escape("installed=$tempHome/"))
    }

    It 'imports the installed module by name, and thread jobs and -Parallel find it' {
        $result = Invoke-FreshPwsh -Environment $isolated @"
`$ErrorActionPreference = 'Stop'
Import-Module QuDag
'base=' + (Get-Module QuDag).ModuleBase
`$session = Get-QuDagSession
`$peer = Start-QuDagListener -Session (New-QuDagSession -Name remote)
'job=' + (Start-ThreadJob { `$p = `$using:peer; Connect-QuDagPeer `$p.PeerId `$p.Endpoint -Session `$using:session -PassThru | ForEach-Object Status } | Wait-Job | Receive-Job)
'parallel=' + ((1..2 | ForEach-Object -Parallel { (Get-QuDagPeer -Session `$using:session).Status }) -join ',')
'about=' + [bool](Get-Help about_QuDag | Out-String | Select-String 'MaxConnections')
# The report's charts need the package's SkiaSharp and HarfBuzz natives for this platform.
Export-QuDagReport -Path '$tempHome/report.html' -Session `$session
'report=' + (Select-String -Path '$tempHome/report.html' -Pattern '<svg' -SimpleMatch -Quiet)
"@
        $result.ExitCode | Should -Be 0 -Because $result.Output
        $result.Output | Should -Match ([regex]::Escape("base=$tempHome/"))
        $result.Output | Should -Match 'job=Connected'
        $result.Output | Should -Match 'parallel=Connected,Connected'
        $result.Output | Should -Match 'about=True'
        $result.Output | Should -Match 'report=True'
    }
}
