# Output objects and views: strings, names and *Ms numbers that pipe, round trips, tables that fit 80 columns.
BeforeAll { . $PSScriptRoot/Common.ps1 }

Describe 'Output and formatting' {
    BeforeAll {
        $script:peer = New-TestPeer
        Connect-QuDagPeer $peer.PeerId $peer.Endpoint
        Test-QuDagPeer $peer.PeerId -Count 1 | Out-Null
        Set-QuDagPeerStatus (New-TestPeerId) Failed -Reason 'the remote refused the handshake: noise signature invalid'
        Wait-Until { (Get-QuDagPeer $peer.PeerId).AgentVersion } -Because 'the identify response'
    }
    AfterAll { Clear-TestSessions }

    It 'writes full ids and addresses as strings, statuses as names and durations as *Ms numbers' {
        $p = Get-QuDagPeer $peer.PeerId
        $p.PeerId | Should -BeOfType [string]
        $p.PeerId | Should -Be $peer.PeerId
        $p.PeerId | Should -Match '^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$'
        $p.ShortId | Should -Be ($peer.PeerId.Substring(0, 2) + '*' + $peer.PeerId.Substring(46))
        $p.Address | Should -Be $peer.Address
        $p.Protocols | Should -BeOfType [string]
        $p.Endpoint | Should -Be $peer.Endpoint
        $p.Status | Should -BeOfType [string]
        $p.LatencyMs | Should -BeOfType [double]
        $p.HandshakeMs | Should -BeGreaterThan 0
        $json = Get-QuDagPeer $peer.PeerId | ConvertTo-Json | ConvertFrom-Json
        $json.PeerId | Should -Be $peer.PeerId
        $json.Status | Should -Be 'Connected'
        $json.Endpoint | Should -Be $peer.Endpoint
        $json.Address | Should -Be $peer.Address
        $json.Security | Should -Be $p.Security
        $json.Muxer | Should -Be '/yamux/1.0.0'
        $json.AgentVersion | Should -Be $p.AgentVersion
        @($json.Protocols) | Should -Be @($p.Protocols)
        @($json.Addresses) | Should -Be @($p.Addresses)
        $m = Get-QuDagMetrics | ConvertTo-Json | ConvertFrom-Json
        $m.AvgLatencyMs | Should -BeGreaterThan 0
        $m.PSObject.Properties.Name | Should -Contain 'LatencyP99Ms'
    }

    It 'reads back into Connect-QuDagPeer from <way>, by <columns>' -ForEach @(
        foreach ($way in 'ConvertTo-Json', 'Export-Csv', 'Export-Clixml') {
            @{ way = $way; columns = 'every property' }
            @{ way = $way; columns = 'Address alone' }
            @{ way = $way; columns = 'PeerId and Endpoint' }
            @{ way = $way; columns = 'Addresses' }
        }
    ) {
        $file = Join-Path $TestDrive "peers.$way"
        $selected = switch ($columns) {
            'every property' { Get-QuDagPeer $peer.PeerId }
            'Address alone' { Get-QuDagPeer $peer.PeerId | Select-Object Address }
            'PeerId and Endpoint' { Get-QuDagPeer $peer.PeerId | Select-Object PeerId, Endpoint }
            # A listen address from identify, alone: how a runbook keeps the addresses a peer announced.
            'Addresses' { Get-QuDagPeer $peer.PeerId | ForEach-Object { [pscustomobject]@{ Address = $_.Addresses[0] } } }
        }
        $rows = switch ($way) {
            'ConvertTo-Json' { $selected | ConvertTo-Json -AsArray | Set-Content $file; Get-Content -Raw $file | ConvertFrom-Json }
            'Export-Csv' { $selected | Export-Csv $file; Import-Csv $file }
            'Export-Clixml' { $selected | Export-Clixml $file; Import-Clixml $file }
        }
        $other = New-QuDagSession
        $connected = $rows | Connect-QuDagPeer -Session $other -PassThru
        $connected.PeerId | Should -Be $peer.PeerId
        $connected.Status | Should -Be 'Connected'
        $connected.Address | Should -Be $peer.Address
    }

    It 'shows peers in a table that fits 80 columns, status first and the last error whole' {
        $text = Get-QuDagPeer | Out-String -Width 80
        $lines = $text -split "`r?`n"
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $text | Should -Match '^\s*Status\s+PeerId\s+Endpoint\s+LatencyMs\s+Security\s+LastError'
        $short = (Get-QuDagPeer $peer.PeerId).ShortId
        $text | Should -Match "Connected\s+$([regex]::Escape($short))\s+$([regex]::Escape($peer.Endpoint))\s+[\d.,]+\s+(noise|tls)\b"
        $text | Should -Not -Match $peer.PeerId # the short form, not all 52 characters
        ($text -replace '\s+', '') | Should -BeLike '*theremoterefusedthehandshake:noisesignatureinvalid*'
        $text | Should -Not -Match "`e\["
    }

    It 'shows one peer as a list that groups the connection and the identify data, labelled by property names' {
        $text = Get-QuDagPeer $peer.PeerId | Format-List | Out-String -Width 80
        $labels = $text -split "`r?`n" | Where-Object { $_ -match '^(\w+)\s+:' } | ForEach-Object { $Matches[1] }
        $properties = (Get-QuDagPeer $peer.PeerId).PSObject.Properties.Name
        $labels | ForEach-Object { $properties | Should -Contain $_ }
        foreach ($name in 'PeerId', 'Status', 'Address', 'Security', 'Muxer', 'AgentVersion', 'ProtocolVersion', 'Protocols', 'Addresses', 'ObservedAddress') {
            $labels | Should -Contain $name
        }
        $text | Should -Match "AgentVersion\s+: qudag-ps/"
        $text | Should -Match 'Muxer\s+: /yamux/1\.0\.0'
        $text | Should -Match '/ipfs/ping/1\.0\.0'
        # Identify's fields come together, after the connection's.
        [array]::IndexOf($labels, 'Muxer') | Should -BeLessThan ([array]::IndexOf($labels, 'AgentVersion'))
        ([array]::IndexOf($labels, 'ObservedAddress') - [array]::IndexOf($labels, 'AgentVersion')) | Should -Be 4
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
        # Every table shows ids in the one short form (12*xxxxxx), never the 12D3KooW prefix all Ed25519 ids share.
        $short = (Get-QuDagPeer $peer.PeerId).ShortId
        (Get-QuDagPool | Out-String -Width 80) | Should -Match ([regex]::Escape($short))
        ($peer | Out-String -Width 80) | Should -Match ([regex]::Escape($short))
        (Get-QuDagSession -All | Out-String -Width 80) | Should -Match ([regex]::Escape($short))
        Connect-QuDagPeer $peer.PeerId
    }
}

Describe 'Mocking the cmdlets in a runbook''s tests' {
    BeforeAll {
        # Ids from the libp2p peer-id spec's examples: a mock takes them without any session.
        $script:ids = @('12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA', 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N')
        function Invoke-Rollout([string] $Csv) {
            Import-Csv $Csv | Connect-QuDagPeer -PassThru
        }
    }

    It 'accepts what users pass to a mocked Connect-QuDagPeer: strings and piped CSV rows' {
        # -Endpoint is an alias of -Address: a mock and its filters read $Address.
        Mock Connect-QuDagPeer { [pscustomobject]@{ PeerId = @($PeerId)[0]; Address = $Address; Status = 'Connected' } }
        Connect-QuDagPeer -PeerId $ids[0] -Endpoint '127.0.0.1:1' | ForEach-Object Address | Should -Be '127.0.0.1:1'
        Connect-QuDagPeer -Address "/ip4/127.0.0.1/tcp/4001/p2p/$($ids[0])" | ForEach-Object Address | Should -Be "/ip4/127.0.0.1/tcp/4001/p2p/$($ids[0])"
        $csv = Join-Path $TestDrive 'rollout.csv'
        "PeerId,Endpoint`n$($ids[1]),10.0.0.2:9000`n12*Wn8fjx,node7.example.net:9000" | Set-Content $csv
        $result = Invoke-Rollout $csv
        $result | ForEach-Object Address | Should -Be @('10.0.0.2:9000', 'node7.example.net:9000') # not .Address: arrays have an Address() method
        $csv2 = Join-Path $TestDrive 'rollout-multiaddr.csv'
        "Address`n/dns4/node8.example.net/tcp/4001/p2p/$($ids[1])" | Set-Content $csv2
        (Invoke-Rollout $csv2).Address | Should -Be "/dns4/node8.example.net/tcp/4001/p2p/$($ids[1])"
        Should -Invoke Connect-QuDagPeer -Times 5 -Exactly
        Should -Invoke Connect-QuDagPeer -Times 1 -Exactly -ParameterFilter { $Address -eq '10.0.0.2:9000' }
        # (A mock's parameters are a proxy's: they lose the real -PeerId's transformation, so filter on $Address.)
        Should -Invoke Connect-QuDagPeer -Times 1 -Exactly -ParameterFilter { $Address -like '/dns4/*' }
    }

    It 'mocks Test-QuDagPeer -Quiet and Wait-QuDagPeer with seconds' {
        Mock Test-QuDagPeer { $true }
        Mock Wait-QuDagPeer { }
        Test-QuDagPeer -Quiet $ids[0] | Should -BeTrue
        Wait-QuDagPeer $ids[0] -TimeoutSeconds 5
        Should -Invoke Wait-QuDagPeer -ParameterFilter { $TimeoutSeconds -eq 5 }
    }
}
