# The embedded host (src/QuDag.Host): the whole engine with the module imported, and pwsh's command line and exit codes.
BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:hostDll = Join-Path $RepoRoot 'src/QuDag.Host/bin/Debug/net10.0/qudag-host.dll'
    $hostDll | Should -Exist -Because 'the test runner builds the host'
}

Describe 'The embedded host' {
    It 'runs a runbook that uses the standard cmdlets, thread jobs and the module' {
        $dir = Join-Path $TestDrive 'runbook'
        $null = New-Item -ItemType Directory $dir
        $runbook = Join-Path $dir 'runbook.ps1'
        @'
$ErrorActionPreference = 'Stop'
$peers = 1..3 | ForEach-Object { Start-QuDagListener -Session (New-QuDagSession) }
$peers | Select-Object PeerId, Endpoint | Export-Csv (Join-Path $PSScriptRoot 'peers.csv')
$rows = Import-Csv (Join-Path $PSScriptRoot 'peers.csv') | Sort-Object PeerId
$i = 0
foreach ($row in $rows) {
    Write-Progress -Activity 'Connecting' -Status $row.PeerId -PercentComplete (100 * $i++ / $rows.Count)
    $row | Connect-QuDagPeer
}
Write-Progress -Activity 'Connecting' -Completed
$session = Get-QuDagSession
$job = Start-ThreadJob { (Get-QuDagPeer -Session $using:session | Measure-Object).Count }
"jobCount=$($job | Wait-Job | Receive-Job)"
"json=" + (Get-QuDagPeer | Select-Object -First 1 PeerId, Status | ConvertTo-Json -Compress)
"when=" + (Get-Date -Format 'yyyy')
Get-QuDagPeer | Format-Table Status, ShortId -AutoSize | Out-String -Width 80
'@ | Set-Content $runbook
        $result = Invoke-QuDagHost @('-NoProfile', '-File', $runbook)
        $result.ExitCode | Should -Be 0 -Because $result.Output
        $result.Output | Should -Match 'jobCount=3'
        $result.Output | Should -Match 'json=\{"PeerId":"12D3KooW[1-9A-HJ-NP-Za-km-z]{44}","Status":"Connected"\}'
        $result.Output | Should -Match "when=$((Get-Date).Year)"
        $result.Output | Should -Match 'Connected\s+12\*[1-9A-HJ-NP-Za-km-z]{6}'
        $result.Output | Should -Not -Match "`e\["
    }

    It 'runs the quickstart and exits 0' {
        $result = Invoke-QuDagHost @('-File', (Join-Path $RepoRoot 'module/examples/quickstart.ps1'))
        $result.ExitCode | Should -Be 0 -Because $result.Output
        $result.Output | Should -Match 'Status\s+PeerId\s+Endpoint'
        $result.Output | Should -Match '1, 1 \(1 each'
        $result.Output | Should -Match 'AgentVersion\s+: qudag-ps/'
        $result.Output | Should -Match 'ProtocolVersion\s+: /qudag/1\.0\.0'
        $result.Output | Should -Match 'Muxer\s+: /yamux/1\.0\.0'
        $result.Output | Should -Match 'Security\s+: /(noise|tls/1\.0\.0)'
    }

    It 'follows pwsh''s exit codes: <case>' -ForEach @(
        @{ case = 'a failed -Command exits 1'; arguments = @('-Command', 'Get-Item /no/such/path'); code = 1 }
        @{ case = 'a throw exits 1'; arguments = @('-Command', 'throw "boom"'); code = 1 }
        @{ case = 'exit N exits N'; arguments = @('-Command', 'exit 3'); code = 3 }
        @{ case = 'a QuDag error as the last command exits 1'; arguments = @('-Command', 'Get-QuDagPeer 12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'); code = 1 }
        @{ case = 'success exits 0'; arguments = @('-Command', 'Get-QuDagSession | Out-Null'); code = 0 }
    ) {
        (Invoke-QuDagHost $arguments).ExitCode | Should -Be $code
    }

    It 'exits with the script''s exit code, and 1 for a terminating error in -File' {
        $exit7 = Join-Path $TestDrive 'exit7.ps1'
        'exit 7' | Set-Content $exit7
        (Invoke-QuDagHost @('-File', $exit7)).ExitCode | Should -Be 7
        $fails = Join-Path $TestDrive 'fails.ps1'
        '$ErrorActionPreference = "Stop"; Get-QuDagPeer 12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA; "not reached"' | Set-Content $fails
        $result = Invoke-QuDagHost @('-File', $fails)
        $result.ExitCode | Should -Be 1
        $result.Output | Should -Not -Match 'not reached'
        $result.Output | Should -Match 'GetQuDagPeerPeerNotFound|knows no peer'
    }

    It 'prompts for -Confirm as pwsh does, and has the interactive prompt''s modules' {
        $hostDll = Join-Path $RepoRoot 'src/QuDag.Host/bin/Debug/net10.0/qudag-host.dll'
        $env:QUDAG_MODULE = $Manifest
        $answered = ('y' | & dotnet $hostDll -NoProfile -Command 'Clear-QuDagPool -Confirm -PassThru; (Get-Module -ListAvailable PSReadLine, Microsoft.PowerShell.ThreadJob).Name' 2>&1) -join "`n"
        $LASTEXITCODE | Should -Be 0 -Because $answered
        $answered | Should -Match '\[Y\] Yes'
        $answered | Should -Not -Match 'Prompting is not supported'
        $answered | Should -Match 'PSReadLine'
        $answered | Should -Match 'Microsoft.PowerShell.ThreadJob'
    }

    It 'understands -Help' {
        $result = Invoke-QuDagHost @('-Help')
        $result.ExitCode | Should -Be 0
        $result.Output | Should -Match 'qudag-host: pwsh with the QuDag module imported'
        $result.Output | Should -Match '-File'
    }
}
