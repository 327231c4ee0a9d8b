#Requires -Modules Pester
<#
    The telemetry cmdlets as a user meets them: Watch-QuDagMetrics piped (one object per interval), the exporter's
    life with its session, a port in use, and the report file. Two real sessions talk over loopback.
    Run: Invoke-Pester ./tests/QuDag.Module.Tests/Telemetry.Tests.ps1
    (tests/QuDag.Telemetry.Tests runs it in the hosted engine, with its output redirected.)
#>

BeforeAll {
    Import-Module ([IO.Path]::Combine($PSScriptRoot, '..', '..', 'QuDag.psd1')) -Force

    function Get-FreePort {
        $probe = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $probe.Start()
        try { $probe.LocalEndpoint.Port } finally { $probe.Stop() }
    }

    function Test-PortFree([int] $Port) {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, $Port)
        try { $listener.Start(); $true } catch { $false } finally { $listener.Stop() }
    }

    $script:node = New-QuDagSession -Name telemetry-node
    $script:peer = New-QuDagSession -Name telemetry-peer
    $script:listener = Start-QuDagListener -Session $peer
    Connect-QuDagPeer -Session $node -PeerId $listener.PeerId -Endpoint $listener.Endpoint
    Test-QuDagPeer -Session $node -PeerId $listener.PeerId -Count 3 | Out-Null
}

AfterAll {
    $node.Dispose()
    $peer.Dispose()
}

Describe 'Watch-QuDagMetrics down a pipe' {
    It 'writes one sample per interval, Count times, with the session''s totals and peers' {
        $samples = @(Watch-QuDagMetrics -Session $node -IntervalSeconds 1 -Count 3 | ForEach-Object { $_ })

        $samples.Count | Should -Be 3
        $samples.Sequence | Should -Be @(1, 2, 3)
        # At least an interval apart: it waits between samples rather than writing them at once.
        ($samples[2].Timestamp - $samples[0].Timestamp).TotalSeconds | Should -BeGreaterOrEqual 1.9
        foreach ($sample in $samples) {
            $sample | Should -BeOfType ([QuDag.PowerShell.QuDagMetricsSample])
            $sample.PeerId | Should -Be $node.PeerId.ToString()
            $sample.Connections | Should -Be 1
            $sample.PingCount | Should -BeGreaterOrEqual 3
            $remote = $sample.Peers | Where-Object PeerId -EQ $listener.PeerId.ToString()
            $remote.Status | Should -Be 'Connected'
            $remote.LatencyMs | Should -BeGreaterThan 0
        }
    }

    It 'writes samples that survive ConvertTo-Json and back' {
        $json = Watch-QuDagMetrics -Session $node -IntervalSeconds 1 -Count 1 | ConvertTo-Json -Depth 3
        $back = $json | ConvertFrom-Json
        $back.Sequence | Should -Be 1
        $back.Peers[0].PeerId | Should -Be $listener.PeerId.ToString()
    }

    It 'writes samples whose every CSV column is usable, the peers listed by id, status and latency' {
        $csv = Join-Path $TestDrive 'watch.csv'
        Watch-QuDagMetrics -Session $node -IntervalSeconds 1 -Count 2 | Export-Csv $csv
        $rows = @(Import-Csv $csv)
        $rows.Count | Should -Be 2
        foreach ($row in $rows) {
            foreach ($column in $row.PSObject.Properties) {
                $column.Value | Should -Not -Match '^(System|QuDag)\.[\w.]+(\[\])?$' -Because "column $($column.Name) must carry its value, not a type name"
            }
            $row.Peers | Should -BeLike "*$($listener.PeerId) Connected *ms*"
            [double]$row.LatencyP50Ms | Should -BeGreaterThan 0
        }
        $xml = Join-Path $TestDrive 'watch.xml'
        Watch-QuDagMetrics -Session $node -IntervalSeconds 1 -Count 1 | Export-Clixml $xml
        $back = Import-Clixml $xml
        @($back.Peers)[0].PeerId | Should -Be $listener.PeerId.ToString()
        @($back.Peers)[0].ShortId | Should -Be (Get-QuDagPeer -Session $node $listener.PeerId).ShortId
    }

    It 'writes objects with -AsObject even when it is the last command' {
        $samples = Watch-QuDagMetrics -Session $node -IntervalSeconds 1 -Count 2 -AsObject
        @($samples).Count | Should -Be 2
    }
}

Describe 'Start-QuDagMetricsExporter' {
    # A failed assertion must not leave the node exporting: the next test starts its own exporter on it.
    AfterEach { if ((Get-QuDagSession -Session $node).MetricsExporter) { Stop-QuDagMetricsExporter -Session $node } }

    It 'serves the scrape endpoint, shows it on the session, and frees the port when stopped' {
        $port = Get-FreePort
        $exporter = Start-QuDagMetricsExporter -Session $node -Prometheus -Port $port
        $exporter.PrometheusEndpoint | Should -Be "http://127.0.0.1:$port/metrics"
        (Get-QuDagSession -Session $node).MetricsExporter | Should -Be $exporter

        $scrape = [Net.Http.HttpClient]::new().GetStringAsync($exporter.PrometheusEndpoint).GetAwaiter().GetResult()
        $scrape | Should -Match ('qudag_connections\{[^}]*state="active"[^}]*qudag_peer_id="' + $node.PeerId + '"\} 1')
        # Started after the session's pings and its handshake: the histograms show them all the same.
        $pings = (Get-QuDagMetrics -Session $node).PingCount
        $pings | Should -BeGreaterOrEqual 3
        $scrape | Should -Match ('qudag_ping_duration_seconds_count\{[^}]*qudag_peer_id="' + $node.PeerId + '"\} ' + $pings + '\r?\n')
        $scrape | Should -Match 'qudag_connection_handshake_duration_seconds_count\{[^}]*direction="outbound"[^}]*\} 1\r?\n'

        Stop-QuDagMetricsExporter -Session $node
        (Get-QuDagSession -Session $node).MetricsExporter | Should -BeNullOrEmpty
        Test-PortFree $port | Should -BeTrue
    }

    It 'follows its session to the new connection manager after Set-QuDagSession' {
        $port = Get-FreePort
        $moved = New-QuDagSession -Name moved
        try {
            Start-QuDagMetricsExporter -Session $moved -Prometheus -Port $port | Out-Null
            Set-QuDagSession -Session $moved -MaxConnections 42 -Confirm:$false
            $exporter = (Get-QuDagSession -Session $moved).MetricsExporter
            $exporter.PrometheusEndpoint | Should -Be "http://127.0.0.1:$port/metrics"
            $scrape = [Net.Http.HttpClient]::new().GetStringAsync($exporter.PrometheusEndpoint).GetAwaiter().GetResult()
            $scrape | Should -Match 'qudag_connection_max\{[^}]*\} 42'
        }
        finally {
            $moved.Dispose()
        }
    }

    It 'stops with its session' {
        $port = Get-FreePort
        $short = New-QuDagSession -Name short-lived
        Start-QuDagMetricsExporter -Session $short -Prometheus -Port $port | Out-Null
        Test-PortFree $port | Should -BeFalse
        $short.Dispose()
        Test-PortFree $port | Should -BeTrue
    }

    It 'says clearly that a port is in use' {
        $taken = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $taken.Start()
        try {
            { Start-QuDagMetricsExporter -Session $node -Prometheus -Port $taken.LocalEndpoint.Port } |
                Should -Throw -ErrorId 'StartQuDagMetricsExporterPortInUse,QuDag.PowerShell.Commands.StartQuDagMetricsExporterCommand' -ExpectedMessage "*$($taken.LocalEndpoint.Port)*already in use*"
        }
        finally {
            $taken.Stop()
        }
        (Get-QuDagSession -Session $node).MetricsExporter | Should -BeNullOrEmpty
    }

    It 'refuses a non-loopback address without -AllowRemote' {
        { Start-QuDagMetricsExporter -Session $node -Prometheus -Port (Get-FreePort) -ListenAddress 0.0.0.0 } |
            Should -Throw -ErrorId 'StartQuDagMetricsExporterInvalidArgument,QuDag.PowerShell.Commands.StartQuDagMetricsExporterCommand'
    }
}

Describe 'Export-QuDagReport' {
    It 'writes one self-contained HTML file with the peer and its charts' {
        $path = Join-Path ([IO.Path]::GetTempPath()) "qudag-report-$([guid]::NewGuid()).html"
        try {
            $file = Export-QuDagReport -Session $node -Path $path -Title 'Pester report' -PassThru
            $file.FullName | Should -Be $path
            $html = Get-Content -Raw $path
            $html | Should -Match '<title>Pester report</title>'
            $html | Should -Match 'Ping latency distribution'
            $html | Should -Match $listener.PeerId.ToString().Substring(0, 16)
            $html | Should -Not -Match '<script'
        }
        finally {
            Remove-Item $path -ErrorAction Ignore
        }
    }
}
