<#
.SYNOPSIS
    Maps a QuDAG (libp2p) network: crawls it from bootstrap addresses, keeps the crawl, compares it with the last one,
    and writes an HTML report with the network map.
.DESCRIPTION
    Invoke-QuDagCrawl visits every peer reachable from -Bootstrap: it dials each, reads its identify data and, when it
    serves the DHT, its whole routing table. The crawl is saved as CliXml and CSV under -OutputDirectory
    (crawl-<UTC time>.xml/.csv); the newest earlier crawl there, if any, is compared with this one (peers new, gone,
    and restarted with a new peer id at the same address). report.html has the network map, tables of agent versions,
    protocols, DHT modes and dialability, and the changes. Run it on a schedule to follow a network over time:
        dotnet pwsh ./module/examples/map-network.ps1 -Bootstrap /ip4/203.0.113.7/tcp/8000 -OutputDirectory ./crawls
    or with the embedded host:
        dotnet run --project src/QuDag.Host -- -File module/examples/map-network.ps1 -Bootstrap /ip4/203.0.113.7/tcp/8000
#>
#Requires -Version 7.4
[CmdletBinding()]
param(
    # Where the crawl starts: multiaddrs (ending in /p2p/<peer id> or not) or host:port.
    [Parameter(Mandatory)] [string[]] $Bootstrap,
    # Where crawls and the report are kept.
    [string] $OutputDirectory = './crawls',
    # Peers visited at once, and the seconds one dial or request may take.
    [int] $ThrottleLimit = 64,
    [int] $TimeoutSeconds = 10
)
$ErrorActionPreference = 'Stop'
if (-not (Get-Module QuDag)) { Import-Module ([IO.Path]::Combine($PSScriptRoot, '../../QuDag.psd1')) }

$null = New-Item -ItemType Directory -Force -Path $OutputDirectory
$previousFile = Get-ChildItem -Path $OutputDirectory -Filter 'crawl-*.xml' | Sort-Object Name | Select-Object -Last 1

# Results stream as each peer's visit ends (with a progress bar); a bootstrap that does not answer is an error, not
# the end of the crawl.
$crawl = @(Invoke-QuDagCrawl -Bootstrap $Bootstrap -ThrottleLimit $ThrottleLimit -TimeoutSeconds $TimeoutSeconds -ErrorAction Continue)
$stamp = [DateTime]::UtcNow.ToString('yyyyMMdd-HHmmss')
$crawl | Export-Clixml -Path (Join-Path $OutputDirectory "crawl-$stamp.xml")
$crawl | Export-Csv -Path (Join-Path $OutputDirectory "crawl-$stamp.csv")

'== The network'
[pscustomobject]@{
    Peers      = $crawl.Count
    Dialable   = @($crawl | Where-Object Dialable).Count
    DhtServers = @($crawl | Where-Object DhtMode -eq 'Server').Count
    DhtClients = @($crawl | Where-Object DhtMode -eq 'Client').Count
} | Format-List | Out-Default
'== What the peers run'
$crawl | Where-Object Dialable | Group-Object AgentVersion -NoElement | Sort-Object Count -Descending | Format-Table Count, Name | Out-Default
'== Peers that could not be dialed, and why'
$crawl | Where-Object { -not $_.Dialable } | Group-Object Error -NoElement | Format-Table Count, Name | Out-Default

$reportArguments = @{ Path = (Join-Path $OutputDirectory 'report.html'); Crawl = $crawl; Title = 'QuDAG network map'; PassThru = $true }
if ($previousFile) {
    $previous = Import-Clixml -Path $previousFile.FullName
    "== Changes since $($previousFile.Name)"
    $crawl | Compare-QuDagCrawl -Previous $previous | Out-Default
    $reportArguments.PreviousCrawl = $previous
}
'== Report'
Export-QuDagReport @reportArguments
