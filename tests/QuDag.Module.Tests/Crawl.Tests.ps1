# Invoke-QuDagCrawl, Compare-QuDagCrawl and Export-QuDagReport -Crawl against a network of unmodified js-libp2p
# kad-dht nodes (tests/interop/kad.mjs, one Node process), in real pwsh: what an operator does to map a network.
BeforeAll {
    . $PSScriptRoot/Common.ps1
    . $PSScriptRoot/JsNode.ps1
    . $PSScriptRoot/JsKadNetwork.ps1
    $script:js = Start-JsKadNetwork
    # 20 nodes in a random graph, every tenth a DHT client (as QuDAG's own nodes are).
    $script:nodes = Add-JsKadNode $js -Count 20 -Topology random -ClientEvery 10
    $script:servers = @($nodes | Where-Object mode -eq 'server')
    $script:clients = @($nodes | Where-Object mode -eq 'client')
    $script:crawl = @(Invoke-QuDagCrawl -Bootstrap $servers[0].addrs[0] -TimeoutSeconds 5)
    $script:dir = Join-Path ([IO.Path]::GetTempPath()) "qudag-crawl-$PID"
    $null = New-Item -ItemType Directory -Force -Path $dir
}

AfterAll {
    if ($js) { Stop-JsNode $js }
    if ($dir) { Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue }
    Clear-TestSessions
}

Describe 'Invoke-QuDagCrawl' {
    It 'finds every DHT server from one bootstrap, each with its agent, protocols, mode and routing table' {
        foreach ($server in $servers) {
            $found = @($crawl | Where-Object PeerId -eq $server.peerId)
            $found.Count | Should -Be 1
            $found[0].Dialable | Should -BeTrue
            $found[0].Error | Should -Be 'None'
            $found[0].DhtMode | Should -Be 'Server'
            $found[0].AgentVersion | Should -BeLike 'js-libp2p/*'
            $found[0].Protocols | Should -Contain '/ipfs/kad/1.0.0'
            $found[0].Address | Should -Be $server.addrs[0]
            $found[0].RoutingTableComplete | Should -BeTrue
            $found[0].ConnectMs | Should -BeGreaterThan 0
            $found[0].CrawlMs | Should -BeGreaterOrEqual $found[0].ConnectMs
        }
        # The neighbours are js's own routing tables.
        $tables = (Invoke-JsNode $js 'routingTables').tables
        foreach ($table in $tables | Where-Object mode -eq 'server') {
            $result = $crawl | Where-Object PeerId -eq $table.peerId
            foreach ($entry in $table.peers) { $result.Neighbours | Should -Contain $entry }
        }
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
        foreach ($original in $crawl) {
            $copy = $back | Where-Object PeerId -eq $original.PeerId
            $copy.Address | Should -Be $original.Address
            "$($copy.Dialable)" | Should -Be "$($original.Dialable)"
            $copy.DhtMode | Should -Be $original.DhtMode
            $copy.AgentVersion | Should -Be $original.AgentVersion
            [double]$copy.ConnectMs | Should -Be $original.ConnectMs
            $neighbours = if ($format -eq 'Csv') { $copy.Neighbours -split ';' | Where-Object { $_ } } else { @($copy.Neighbours) }
            @($neighbours | Sort-Object) | Should -Be @($original.Neighbours | Sort-Object)
        }
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
        Start-Sleep -Milliseconds 500 # js adds a peer to its table after the identify round, a moment after the dial
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
        $out = Join-Path $dir 'runbook'
        & ([IO.Path]::Combine($RepoRoot, 'module/examples/map-network.ps1')) -Bootstrap $servers[0].addrs[0] -OutputDirectory $out -TimeoutSeconds 5 | Out-Null
        Start-Sleep -Seconds 1 # the crawl files are named by the second
        $text = & ([IO.Path]::Combine($RepoRoot, 'module/examples/map-network.ps1')) -Bootstrap $servers[0].addrs[0] -OutputDirectory $out -TimeoutSeconds 5 | Out-String
        @(Get-ChildItem $out -Filter 'crawl-*.xml').Count | Should -Be 2
        @(Get-ChildItem $out -Filter 'crawl-*.csv').Count | Should -Be 2
        $text | Should -Match '== Changes since crawl-'
        Get-Content -Raw (Join-Path $out 'report.html') | Should -Match '<h2>Changes since the previous crawl</h2>'
    }
}
