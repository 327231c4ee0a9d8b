# Invoke-QuDagCrawl, Compare-QuDagCrawl and Export-QuDagReport -Crawl against a network of unmodified js-libp2p
# kad-dht nodes (tests/interop/kad.mjs, one Node process), in real pwsh: what an operator does to map a network.
BeforeAll {
    . $PSScriptRoot/Common.ps1
    . $PSScriptRoot/JsNode.ps1
    . $PSScriptRoot/JsKadNetwork.ps1
    $script:js = Start-JsKadNetwork
    # Issue 19's network: 100 nodes in a random graph, every tenth a DHT client (as QuDAG's own nodes are).
    $script:nodes = Add-JsKadNode $js -Count 100 -Topology random -ClientEvery 10
    $script:servers = @($nodes | Where-Object mode -eq 'server')
    $script:clients = @($nodes | Where-Object mode -eq 'client')
    # The timed crawl measures crawling, not loading: a one-peer crawl first brings the stack's code in.
    $null = Invoke-QuDagCrawl -Bootstrap $clients[0].addrs[0]
    $script:clock = [Diagnostics.Stopwatch]::StartNew()
    $script:crawl = @(Invoke-QuDagCrawl -Bootstrap $servers[0].addrs[0] -TimeoutSeconds 5)
    $clock.Stop()
    $script:dir = Join-Path ([IO.Path]::GetTempPath()) "qudag-crawl-$PID"
    $null = New-Item -ItemType Directory -Force -Path $dir
}

AfterAll {
    if ($js) { Stop-JsNode $js }
    if ($dir) { Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue }
    Clear-TestSessions
}

Describe 'Invoke-QuDagCrawl' {
    It 'finds at least 99 % of 90 DHT servers from one bootstrap within 10 s, each with its agent, protocols, mode and routing table' {
        Write-Host "Crawled $($crawl.Count) peers in $([int]$clock.Elapsed.TotalMilliseconds) ms"
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
        @($servers | Where-Object { $_.peerId -in $crawl.PeerId }).Count | Should -BeGreaterOrEqual ([math]::Ceiling(0.99 * $servers.Count))
        # Checked in bulk, one Should each: 90 peers x a dozen assertions would take longer than the crawl.
        $byPeer = @{}; foreach ($r in $crawl) { $byPeer[$r.PeerId] = $r }
        $wrong = foreach ($server in $servers) {
            $r = $byPeer[$server.peerId]
            if (-not $r) { "$($server.index): not found"; continue }
            if (-not $r.Dialable -or $r.Error -ne 'None' -or $r.DhtMode -ne 'Server' -or -not $r.RoutingTableComplete) { "$($server.index): $($r.Error) $($r.DhtMode) complete=$($r.RoutingTableComplete)" }
            if ($r.AgentVersion -notlike 'js-libp2p/*' -or $r.Protocols -notcontains '/ipfs/kad/1.0.0' -or $r.Address -ne $server.addrs[0]) { "$($server.index): $($r.AgentVersion) $($r.Address)" }
            if ($r.ConnectMs -le 0 -or $r.CrawlMs -lt $r.ConnectMs) { "$($server.index): times $($r.ConnectMs) $($r.CrawlMs)" }
        }
        $wrong | Should -BeNullOrEmpty
        @($crawl | Group-Object PeerId | Where-Object Count -gt 1) | Should -BeNullOrEmpty
        # The neighbours are js's own routing tables (entries js held before and after the crawl).
        $tables = (Invoke-JsNode $js 'routingTables').tables
        $missing = foreach ($table in $tables | Where-Object mode -eq 'server') {
            $neighbours = [Collections.Generic.HashSet[string]]::new([string[]]@($byPeer[$table.peerId].Neighbours))
            $table.peers | Where-Object { -not $neighbours.Contains($_) }
        }
        $held = ($tables | Where-Object mode -eq 'server' | ForEach-Object { $_.peers.Count } | Measure-Object -Sum).Sum
        @($missing).Count | Should -BeLessOrEqual ([math]::Floor(0.05 * $held))
        $crawl[0].PSObject.TypeNames[0] | Should -Be 'QuDag.PowerShell.QuDagCrawlResult'
    }

    It 'reports a client-mode bootstrap as a dialable peer with DhtMode Client' {
        $result = @(Invoke-QuDagCrawl -Bootstrap ($clients[0].addrs[0] -replace '/p2p/.*$', ''))
        $result.Count | Should -Be 1
        $result[0].PeerId | Should -Be $clients[0].peerId
        $result[0].Dialable | Should -BeTrue
        $result[0].DhtMode | Should -Be 'Client'
        $result[0].NeighbourCount | Should -Be 0
    }

    It 'says which bootstrap did not answer, and which address did not parse, and goes on' {
        $port = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $port.Start(); $closed = $port.LocalEndpoint.Port; $port.Stop()
        $result = @(Invoke-QuDagCrawl -Bootstrap 'not an address', "127.0.0.1:$closed", $clients[0].addrs[0] -ErrorVariable failures -ErrorAction SilentlyContinue)
        $result.Count | Should -Be 1
        $failures.FullyQualifiedErrorId | Should -Contain 'InvokeQuDagCrawlInvalidAddress,QuDag.PowerShell.Commands.InvokeQuDagCrawlCommand'
        $unreachable = @($failures | Where-Object FullyQualifiedErrorId -like 'InvokeQuDagCrawlBootstrapUnreachable*')
        $unreachable.Count | Should -Be 1
        $unreachable[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $unreachable[0].TargetObject | Should -Be "/ip4/127.0.0.1/tcp/$closed"
    }

    It 'refuses out-of-range settings when binding' {
        { Invoke-QuDagCrawl -Bootstrap $servers[0].addrs[0] -ThrottleLimit 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,QuDag.PowerShell.Commands.InvokeQuDagCrawlCommand'
        { Invoke-QuDagCrawl -Bootstrap $servers[0].addrs[0] -DhtProtocol 'kad' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,QuDag.PowerShell.Commands.InvokeQuDagCrawlCommand'
    }

    It 'stops at once when the pipeline stops' {
        $first = Invoke-QuDagCrawl -Bootstrap $servers[0].addrs[0] | Select-Object -First 1
        @($first).Count | Should -Be 1
    }
}

Describe 'Invoke-QuDagCrawl and a QuDag.PS node in DHT server mode' {
    AfterAll { Get-QuDagSession -Name 'crawl-seed' -ErrorAction SilentlyContinue | Remove-QuDagSession }

    It 'reads our own server''s routing table and goes on through it to the js nodes' {
        $seed = New-QuDagSession -Name 'crawl-seed' -DhtMode Server -Bootstrap $servers[0].addrs[0]
        $listener = Start-QuDagListener -Session $seed
        foreach ($attempt in 1..100) {
            if ((Get-QuDagSession -Name 'crawl-seed').DhtPeers -gt 0) { break }
            Start-Sleep -Milliseconds 100
        }
        $result = @(Invoke-QuDagCrawl -Bootstrap $listener.Address -TimeoutSeconds 5)
        $ours = $result | Where-Object PeerId -eq $seed.PeerId
        $ours.Dialable | Should -BeTrue
        $ours.DhtMode | Should -Be 'Server'
        $ours.AgentVersion | Should -BeLike 'qudag-ps/*'
        $ours.ProtocolVersion | Should -Be '/qudag/1.0.0'
        $ours.NeighbourCount | Should -BeGreaterThan 0
        $ours.RoutingTableComplete | Should -BeTrue
        @($servers | Where-Object { $_.peerId -in $result.PeerId }).Count | Should -BeGreaterOrEqual ([math]::Ceiling(0.99 * $servers.Count))
    }
}

Describe 'Crawl results' {
    It 'round-trip through <_> with full ids, and compare equal to the crawl' -ForEach @('Csv', 'Json', 'CliXml') {
        $format = $_
        $path = Join-Path $dir "crawl.$format"
        $back = switch ($format) {
            'Csv' { $crawl | Export-Csv $path; Import-Csv $path }
            'Json' { $crawl | ConvertTo-Json -Depth 4 | Set-Content $path; Get-Content -Raw $path | ConvertFrom-Json }
            'CliXml' { $crawl | Export-Clixml $path; Import-Clixml $path }
        }
        @($back).Count | Should -Be $crawl.Count
        $copies = @{}; foreach ($copy in $back) { $copies[$copy.PeerId] = $copy }
        $wrong = foreach ($original in $crawl) {
            $copy = $copies[$original.PeerId]
            $neighbours = if ($format -eq 'Csv') { $copy.Neighbours -split ';' | Where-Object { $_ } } else { @($copy.Neighbours) }
            if ($copy.Address -ne $original.Address -or "$($copy.Dialable)" -ne "$($original.Dialable)" -or $copy.DhtMode -ne $original.DhtMode -or
                $copy.AgentVersion -ne $original.AgentVersion -or [double]$copy.ConnectMs -ne $original.ConnectMs -or
                (@($neighbours | Sort-Object) -join ' ') -ne (@($original.Neighbours | Sort-Object) -join ' ')) { $original.PeerId }
        }
        $wrong | Should -BeNullOrEmpty
        # What was read back is a crawl to the other cmdlets: the same crawl, so no difference.
        @(Compare-QuDagCrawl -Previous $back -Current $crawl).Count | Should -Be 0
        @($back | Compare-QuDagCrawl -Previous $crawl).Count | Should -Be 0
    }
}

Describe 'Compare-QuDagCrawl' {
    It 'lists a stopped node as Gone and a new one as New' {
        $stopped = $servers[-1]
        Invoke-JsNode $js 'stopNode' @{ node = $stopped.index } | Out-Null
        $added = Add-JsKadNode $js -Count 1 -Topology none
        Invoke-JsNode $js 'dial' @{ node = $added[0].index; addr = $servers[0].addrs[0] } | Out-Null
        # js adds a peer to its table after the identify round and a ping, a moment after the dial: wait for it, bounded.
        foreach ($attempt in 1..150) {
            if ((Invoke-JsNode $js 'routingTable' @{ node = $servers[0].index }).peers -contains $added[0].peerId) { break }
            Start-Sleep -Milliseconds 100
        }
        $again = @(Invoke-QuDagCrawl -Bootstrap $servers[0].addrs[0] -TimeoutSeconds 5 -ErrorAction SilentlyContinue)

        $changes = @($again | Compare-QuDagCrawl -Previous $crawl)
        ($changes | Where-Object Change -eq 'Gone').PeerId | Should -Contain $stopped.peerId
        ($changes | Where-Object Change -eq 'New').PeerId | Should -Contain $added[0].peerId
        $changes[0].PSObject.TypeNames[0] | Should -Be 'QuDag.PowerShell.QuDagCrawlDifference'
    }

    It 'reports a record that is no crawl result and compares the rest' {
        $changes = @(Compare-QuDagCrawl -Previous @([pscustomobject]@{ Name = 'x' }) -Current $crawl -ErrorVariable bad -ErrorAction SilentlyContinue)
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'CompareQuDagCrawlInvalidRecord*'
        $bad[0].CategoryInfo.Category | Should -Be 'InvalidData'
        @($changes | Where-Object Change -eq 'New').Count | Should -Be @($crawl | Where-Object Dialable).Count
    }
}

Describe 'Export-QuDagReport -Crawl' {
    It 'maps every peer of a crawl read back from CSV' {
        $crawl | Export-Csv (Join-Path $dir 'map.csv')
        $file = Export-QuDagReport -Path (Join-Path $dir 'map.html') -Crawl (Import-Csv (Join-Path $dir 'map.csv')) -PreviousCrawl $crawl -PassThru
        $html = Get-Content -Raw $file.FullName
        foreach ($peer in $crawl) { $html | Should -Match "data-peer=""$($peer.PeerId)""" }
        $html | Should -Match '<h2>Network map</h2>'
        $html | Should -Match '<h2>Changes since the previous crawl</h2>'
    }

    It 'refuses -PreviousCrawl without -Crawl' {
        { Export-QuDagReport -Path (Join-Path $dir 'x.html') -PreviousCrawl $crawl } | Should -Throw -ErrorId 'ExportQuDagReportCrawlRequired,QuDag.PowerShell.Commands.ExportQuDagReportCommand'
    }
}

Describe 'The map-network runbook' {
    It 'crawls, keeps the crawl, compares it with the last one and writes the report' {
        # From a client, whose crawl is itself alone: the runbook's keeping, comparing and reporting is what is tested.
        $out = Join-Path $dir 'runbook'
        & ([IO.Path]::Combine($RepoRoot, 'module/examples/map-network.ps1')) -Bootstrap $clients[0].addrs[0] -OutputDirectory $out -TimeoutSeconds 5 | Out-Null
        Start-Sleep -Seconds 1 # the crawl files are named by the second
        $text = & ([IO.Path]::Combine($RepoRoot, 'module/examples/map-network.ps1')) -Bootstrap $clients[0].addrs[0] -OutputDirectory $out -TimeoutSeconds 5 | Out-String
        @(Get-ChildItem $out -Filter 'crawl-*.xml').Count | Should -Be 2
        @(Get-ChildItem $out -Filter 'crawl-*.csv').Count | Should -Be 2
        $text | Should -Match '== Changes since crawl-'
        Get-Content -Raw (Join-Path $out 'report.html') | Should -Match '<h2>Changes since the previous crawl</h2>'
    }
}

Describe 'The crawl cmdlets and -Session' {
    It 'refuse a closed session as every cmdlet does' {
        $gone = New-QuDagSession -Name 'crawl-closed'
        Remove-QuDagSession $gone
        { Invoke-QuDagCrawl -Bootstrap $clients[0].addrs[0] -Session $gone } | Should -Throw -ErrorId 'InvokeQuDagCrawlSessionClosed,QuDag.PowerShell.Commands.InvokeQuDagCrawlCommand'
        { Compare-QuDagCrawl -Previous $crawl -Current $crawl -Session $gone } | Should -Throw -ErrorId 'CompareQuDagCrawlSessionClosed,QuDag.PowerShell.Commands.CompareQuDagCrawlCommand'
    }
}
