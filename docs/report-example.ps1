<#
.SYNOPSIS
    Regenerates docs/report-example.html: three embedded peers on loopback, pings over a few seconds, messages, a
    disconnect and a failed dial, then Export-QuDagReport.
.EXAMPLE
    dotnet run --project src/QuDag.Host -- -File docs/report-example.ps1
#>
param([string] $Path = [IO.Path]::Combine($PSScriptRoot, 'report-example.html'))
$ErrorActionPreference = 'Stop'

$listeners = foreach ($i in 1..3) { Start-QuDagListener -Session (New-QuDagSession -Name "peer$i") }
$listeners | ForEach-Object { Connect-QuDagPeer -PeerId $_.PeerId -Endpoint $_.Endpoint }
foreach ($round in 1..40) {
    foreach ($listener in $listeners) { Test-QuDagPeer -PeerId $listener.PeerId -Count 1 | Out-Null }
    Send-QuDagMessage -PeerId $listeners[0].PeerId -Message "round $round"
    [Threading.Thread]::Sleep(100)
}
Disconnect-QuDagPeer -PeerId $listeners[2].PeerId                    # to the idle pool
Connect-QuDagPeer -PeerId $listeners[2].PeerId                       # and back: a pool hit
Disconnect-QuDagPeer -PeerId $listeners[1].PeerId -Force
try { Connect-QuDagPeer -PeerId ('ab' * 32) -Endpoint 127.0.0.1:1 } catch { }   # refused: a failure by reason
Export-QuDagReport -Path $Path -Title 'QuDag node report (example)' -PassThru | ForEach-Object { "wrote $($_.FullName)" }
