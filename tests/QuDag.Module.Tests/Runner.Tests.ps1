# The suites' runner (Invoke-ModuleTests.ps1) as CI and a log file see it.
BeforeAll { . $PSScriptRoot/Common.ps1 }

Describe 'Invoke-ModuleTests.ps1' {
    It 'writes no colour codes when its output goes to a pipe or a file, whether NO_COLOR is set or not' {
        $suite = Join-Path $TestDrive 'Sample.Tests.ps1'
        Set-Content $suite "Describe 'a sample' { It 'passes' { 1 | Should -Be 1 } }"
        $pwshArgs = @(if ([Environment]::GetCommandLineArgs()[0] -like '*.dll') { [Environment]::GetCommandLineArgs()[0] })
        $saved = $env:NO_COLOR
        $env:NO_COLOR = $null
        try {
            # Writes its own TestResults/pester.xml; this run's, written at its end, replaces it.
            $output = & (Get-Process -Id $PID).Path @pwshArgs -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'Invoke-ModuleTests.ps1') -Path $suite -NoBuild 2>&1 |
                ForEach-Object { "$_" }
        }
        finally { $env:NO_COLOR = $saved }
        $text = $output -join "`n"
        $LASTEXITCODE | Should -Be 0 -Because $text
        $text | Should -Match 'Pester: 1 passed, 0 failed'
        $text | Should -Not -Match "`e\[" -Because 'ANSI escape sequences in a log are noise'
    }
}
