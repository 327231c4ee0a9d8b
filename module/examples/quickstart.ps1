<#
.SYNOPSIS
    QuDag quickstart: two embedded peers on loopback, real TLS 1.3 connections, messages, pings, the pool.
.DESCRIPTION
    Starts two local nodes (alice and bob, each a session with its own identity and a listener), connects to
    both from this runspace's default session, sends and receives messages, pings, disconnects into the idle
    pool and reconnects from it, then prints the peer table and the metrics.
    Run it with pwsh (dotnet pwsh ./build.ps1; dotnet pwsh ./module/examples/quickstart.ps1) or with the
    embedded host: dotnet run --project src/QuDag.Host -- -File module/examples/quickstart.ps1
#>
#Requires -Version 7.4
$ErrorActionPreference = 'Stop'
if (-not (Get-Module QuDag)) { Import-Module ([IO.Path]::Combine($PSScriptRoot, '../../QuDag.psd1')) }

$alice = New-QuDagSession -Name alice
$bob = New-QuDagSession -Name bob
try {
    # Each embedded peer listens on a free loopback port; PeerId (a string) is the SHA-256 of its public key.
    $peers = @(
        Start-QuDagListener -Session $alice
        Start-QuDagListener -Session $bob
    )
    '== Embedded peers'
    $peers | Out-Default

    # Listener objects bind by property name (PeerId, Endpoint); both peers connect concurrently.
    '== Connect (TCP + TLS 1.3 with mutual authentication + HELLO)'
    $peers | Connect-QuDagPeer -PassThru | Out-Default

    '== Messages'
    Send-QuDagMessage -PeerId $peers[0].PeerId -Message 'hello alice' -Count 3
    Send-QuDagMessage -PeerId $peers[1].PeerId -Message 'hello bob'
    Receive-QuDagMessage -Session $alice -Count 3 -TimeoutSeconds 10 | Out-Default
    Receive-QuDagMessage -Session $bob -TimeoutSeconds 10 | Out-Default

    '== Ping round trips'
    Test-QuDagPeer -PeerId $peers.PeerId -Count 3 | Out-Default

    '== Disconnect: the live connections wait in the idle pool'
    $peers | Disconnect-QuDagPeer
    Get-QuDagPool | Out-Default

    '== Reconnect: served from the pool, no new handshake'
    $peers | Connect-QuDagPeer
    $accepted = $peers | ForEach-Object { $_.AcceptedCount }
    "TCP connections each listener accepted: $($accepted -join ', ') (1 each: the reconnect reused them)"
    if ($accepted | Where-Object { $_ -ne 1 }) { throw 'A reconnect dialed instead of reusing the pooled connection.' }

    '== Peers'
    Get-QuDagPeer | Out-Default
    '== Metrics'
    Get-QuDagMetrics | Out-Default
}
finally {
    Remove-QuDagSession $alice, $bob
}
