<#
.SYNOPSIS
    Regenerates docs/report-example.html (and .png when headless Chromium is installed) from a real run on loopback.
.DESCRIPTION
    Four embedded libp2p nodes (sessions peer1..peer4, three of them DHT servers that know each other) listen on
    127.0.0.1; this runspace's default session connects to all four, pings them for a few seconds, sends messages,
    joins a gossip topic with three of them and publishes on it, puts a connection in the idle pool and takes it
    back, closes one, fails one dial (a refused port), then lowers its watermarks so the connection policy trims the
    unprotected peers (close reason Trimmed). A crawl from peer1 maps the three DHT servers. Export-QuDagReport then
    writes the page with every section: summary, network map and crawl tables, peers, latency charts, pool,
    failures, closes by reason, topics and events.
    The PNG is a screenshot by Debian's chromium (headless, no network, a throwaway profile), as tall as the page.
.EXAMPLE
    dotnet run --project src/QuDag.Host -- -File docs/report-example.ps1
#>
param([string] $Path = [IO.Path]::Combine($PSScriptRoot, 'report-example.html'))
$ErrorActionPreference = 'Stop'
$Path = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
if (-not (Get-Module QuDag)) { Import-Module ([IO.Path]::Combine($PSScriptRoot, '../QuDag.psd1')) }

# Waits for a condition with a bound, instead of sleeping and hoping.
function Wait-Until([scriptblock] $Condition, [string] $What, [int] $Seconds = 30) {
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    while (-not (& $Condition)) {
        if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out after $Seconds s waiting for $What." }
        Start-Sleep -Milliseconds 50
    }
}

$topic = 'qudag/blocks'
$sessions = foreach ($i in 1..4) { New-QuDagSession -Name "peer$i" -DhtMode $(if ($i -le 3) { 'Server' } else { 'Off' }) }
try {
    $listeners = foreach ($s in $sessions) { Start-QuDagListener -Session $s }

    # The three DHT servers meet each other, so each one's routing table names the others (the crawl's map).
    Connect-QuDagPeer -Session $sessions[1] -Address $listeners[0].Address
    Connect-QuDagPeer -Session $sessions[2] -Address $listeners[0].Address
    Connect-QuDagPeer -Session $sessions[2] -Address $listeners[1].Address

    $listeners | ForEach-Object Address | Connect-QuDagPeer
    Protect-QuDagPeer -PeerId $listeners[0].PeerId -Tag bootstrap          # never trimmed
    Set-QuDagPeerTag -PeerId $listeners[1].PeerId -Tag useful -Value 10

    # Gossip: the default session and peer1..peer3 join one topic; publish once every peer's subscription is known.
    Register-QuDagTopic $topic
    foreach ($s in $sessions[0..2]) { Register-QuDagTopic $topic -Session $s }
    Wait-Until { (Get-QuDagTopic $topic).Subscribers -ge 3 } "3 subscribers of $topic"

    foreach ($round in 1..40) {
        Test-QuDagPeer -PeerId $listeners.PeerId -Count 1 | Out-Null
        Send-QuDagMessage -PeerId $listeners[0].PeerId -Message "round $round"
        if ($round % 8 -eq 0) { Send-QuDagMessage -Topic $topic -Payload @{ height = $round } }
        Start-Sleep -Milliseconds 100
    }
    Receive-QuDagMessage -Session $sessions[0] -Count 40 -TimeoutSeconds 10 | Out-Null
    Receive-QuDagMessage -Session $sessions[1] -Topic $topic -Count 5 -TimeoutSeconds 10 | Out-Null

    Disconnect-QuDagPeer -PeerId $listeners[2].PeerId                    # to the idle pool
    Connect-QuDagPeer -PeerId $listeners[2].PeerId                       # and back: a pool hit
    Disconnect-QuDagPeer -PeerId $listeners[3].PeerId -Force             # closed: LocalDisconnect
    # A refused port: a failure by reason (Unreachable). The id is a valid one nobody here has.
    Connect-QuDagPeer -Address /ip4/127.0.0.1/tcp/1/p2p/12D3KooWGNwqpRycvzoyNjk1FXpmpj129fh9NkDPfs9wgGidnGSq -ErrorAction SilentlyContinue

    # The policy: above 2 open connections, trim to 1; peer1 is protected, so peer2 and peer3 are trimmed at the
    # next check (one per 10-second silence period).
    Set-QuDagSession -LowWater 1 -HighWater 2 -GracePeriodSeconds 0
    Wait-Until { (Get-QuDagMetrics).ClosesTrimmed -ge 2 } 'the trim of two peers'

    $crawl = Invoke-QuDagCrawl -Bootstrap $listeners[0].Address -TimeoutSeconds 5
    $report = Export-QuDagReport -Path $Path -Title 'QuDag node report (example)' -Crawl $crawl -PassThru
    "wrote $($report.FullName)"
}
finally {
    $sessions | Remove-QuDagSession -Confirm:$false
}

$chromium = Get-Command chromium, chromium-browser -CommandType Application -ErrorAction Ignore | Select-Object -First 1
if (-not $chromium) { Write-Warning 'No chromium on PATH: the PNG was not made.'; return }
$png = [IO.Path]::ChangeExtension($Path, '.png')
$work = [IO.Directory]::CreateTempSubdirectory('qudag-report-')
try {
    $flags = '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--hide-scrollbars', "--user-data-dir=$([IO.Path]::Combine($work.FullName, 'profile'))"
    # The page's height, measured by Chromium itself: a copy of the page writes it into its title.
    $probe = [IO.Path]::Combine($work.FullName, 'probe.html')
    $measure = '<script>document.title = "height:" + document.documentElement.scrollHeight</script></body>'
    [IO.File]::WriteAllText($probe, ([IO.File]::ReadAllText($Path) -replace '</body>', $measure))
    $dom = & $chromium.Source @flags '--window-size=1280,800' --dump-dom ([Uri]::new($probe)).AbsoluteUri 2>$null | Out-String
    if ($dom -notmatch 'height:(\d+)') { throw 'Chromium did not report the page height.' }
    & $chromium.Source @flags "--screenshot=$png" "--window-size=1280,$($Matches[1])" ([Uri]::new($Path)).AbsoluteUri 2>$null | Out-Null
    if ($LASTEXITCODE -ne 0 -or -not (Test-Path $png)) { throw "chromium --screenshot failed (exit $LASTEXITCODE)." }
    "wrote $png (1280 x $($Matches[1]))"
}
finally {
    $work.Delete($true)
}
