# Output objects and views: strings, names and *Ms numbers that pipe, round trips, tables that fit 80 columns.
BeforeAll { . $PSScriptRoot/Common.ps1 }

Describe 'Output and formatting' {
    BeforeAll {
        $script:peer = New-TestPeer
        Connect-QuDagPeer $peer.PeerId $peer.Endpoint
        Test-QuDagPeer $peer.PeerId -Count 1 | Out-Null
        Set-QuDagPeerStatus ('ab' * 32) Failed -Reason 'the remote refused the handshake: certificate expired'
    }
    AfterAll { Clear-TestSessions }

    It 'writes full ids and addresses as strings, statuses as names and durations as *Ms numbers' {
        $p = Get-QuDagPeer $peer.PeerId
        $p.PeerId | Should -BeOfType [string]
        $p.PeerId | Should -Be $peer.PeerId
        $p.PeerId.Length | Should -Be 64
        $p.Endpoint | Should -Be $peer.Endpoint
        $p.Status | Should -BeOfType [string]
        $p.LatencyMs | Should -BeOfType [double]
        $p.HandshakeMs | Should -BeGreaterThan 0
        $json = Get-QuDagPeer $peer.PeerId | ConvertTo-Json | ConvertFrom-Json
        $json.PeerId | Should -Be $peer.PeerId
        $json.Status | Should -Be 'Connected'
        $json.Endpoint | Should -Be $peer.Endpoint
        $m = Get-QuDagMetrics | ConvertTo-Json | ConvertFrom-Json
        $m.AvgLatencyMs | Should -BeGreaterThan 0
        $m.PSObject.Properties.Name | Should -Contain 'LatencyP99Ms'
    }

    It 'reads back into Connect-QuDagPeer from <way>' -ForEach @(
        @{ way = 'ConvertTo-Json' }, @{ way = 'Export-Csv' }, @{ way = 'Export-Clixml' }
    ) {
        $file = Join-Path $TestDrive "peers.$way"
        $rows = switch ($way) {
            'ConvertTo-Json' { Get-QuDagPeer $peer.PeerId | ConvertTo-Json -AsArray | Set-Content $file; Get-Content -Raw $file | ConvertFrom-Json }
            'Export-Csv' { Get-QuDagPeer $peer.PeerId | Export-Csv $file; Import-Csv $file }
            'Export-Clixml' { Get-QuDagPeer $peer.PeerId | Export-Clixml $file; Import-Clixml $file }
        }
        $other = New-QuDagSession
        $connected = $rows | Connect-QuDagPeer -Session $other -PassThru
        $connected.PeerId | Should -Be $peer.PeerId
        $connected.Status | Should -Be 'Connected'
    }

    It 'shows peers in a table that fits 80 columns, status first and the last error whole' {
        $text = Get-QuDagPeer | Out-String -Width 80
        $lines = $text -split "`r?`n"
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $text | Should -Match '^\s*Status\s+PeerId\s+Endpoint\s+LatencyMs\s+LastError'
        $text | Should -Match "Connected\s+$($peer.PeerId.Substring(0, 16))"
        $text | Should -Not -Match $peer.PeerId # the short form, not all 64 characters
        ($text -replace '\s+', '') | Should -BeLike '*theremoterefusedthehandshake:certificateexpired*'
        $text | Should -Not -Match "`e\["
    }

    It 'labels the metrics with their property names' {
        $text = Get-QuDagMetrics | Out-String
        $text | Should -Match 'OpenConnections\s+: 1'
        $text | Should -Match 'MaxConnections\s+: 100'
        $text | Should -Match 'AvgLatencyMs\s+: \d'
        $text | Should -Match 'LatencyP99Ms\s+: \d'
        $labels = $text -split "`r?`n" | Where-Object { $_ -match '^(\w+)\s+:' } | ForEach-Object { $Matches[1] }
        $properties = (Get-QuDagMetrics).PSObject.Properties.Name
        $labels | ForEach-Object { $properties | Should -Contain $_ }
    }

    It 'fits the session, listener and pool tables in 80 columns' {
        Disconnect-QuDagPeer $peer.PeerId
        foreach ($text in @((Get-QuDagSession -All | Out-String -Width 80), ($peer | Out-String -Width 80), (Get-QuDagPool | Out-String -Width 80))) {
            $text -split "`r?`n" | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        }
        (Get-QuDagPool | Out-String -Width 80) | Should -Match 'IdleMs\s+ExpiresInMs'
        Connect-QuDagPeer $peer.PeerId
    }
}

Describe 'Mocking the cmdlets in a runbook''s tests' {
    BeforeAll {
        function Invoke-Rollout([string] $Csv) {
            Import-Csv $Csv | Connect-QuDagPeer -PassThru
        }
    }

    It 'accepts what users pass to a mocked Connect-QuDagPeer: strings and piped CSV rows' {
        Mock Connect-QuDagPeer { [pscustomobject]@{ PeerId = $PeerId[0]; Endpoint = $Endpoint; Status = 'Connected' } }
        Connect-QuDagPeer -PeerId ('a' * 64) -Endpoint '127.0.0.1:1' | ForEach-Object Endpoint | Should -Be '127.0.0.1:1'
        $csv = Join-Path $TestDrive 'rollout.csv'
        "PeerId,Endpoint`n$('b' * 64),10.0.0.2:9000`nshort,node7.example.net:9000" | Set-Content $csv
        $result = Invoke-Rollout $csv
        $result.Endpoint | Should -Be @('10.0.0.2:9000', 'node7.example.net:9000')
        Should -Invoke Connect-QuDagPeer -Times 3 -Exactly
        Should -Invoke Connect-QuDagPeer -Times 1 -Exactly -ParameterFilter { $Endpoint -eq '10.0.0.2:9000' }
    }

    It 'mocks Test-QuDagPeer -Quiet and Wait-QuDagPeer with seconds' {
        Mock Test-QuDagPeer { $true }
        Mock Wait-QuDagPeer { }
        Test-QuDagPeer -Quiet ('c' * 64) | Should -BeTrue
        Wait-QuDagPeer ('c' * 64) -TimeoutSeconds 5
        Should -Invoke Wait-QuDagPeer -ParameterFilter { $TimeoutSeconds -eq 5 }
    }
}
