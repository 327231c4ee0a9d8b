<#
.SYNOPSIS
    QuDag quickstart: two embedded libp2p nodes on loopback (TCP, Noise or TLS, yamux), messages, pings, identify,
    the pool.
.DESCRIPTION
    Starts two local nodes (alice and bob, each a session with its own Ed25519 identity and a listener), connects to
    both from this runspace's default session by their multiaddrs, shows what identify says about them (agent,
    protocol version, protocols) and how each connection is secured and multiplexed, sends and receives messages,
    pings, disconnects into the idle pool and reconnects from it, then prints the peer table and the metrics.
    Run it with pwsh (dotnet pwsh ./build.ps1; dotnet pwsh ./module/examples/quickstart.ps1) or with the
    embedded host: dotnet run --project src/QuDag.Host -- -File module/examples/quickstart.ps1
#>
#Requires -Version 7.4
$ErrorActionPreference = 'Stop'
if (-not (Get-Module QuDag)) { Import-Module ([IO.Path]::Combine($PSScriptRoot, '../../QuDag.psd1')) }

$alice = New-QuDagSession -Name alice
$bob = New-QuDagSession -Name bob
try {
    # Each embedded node listens on a free loopback port. PeerId is its libp2p id (12D3KooW...); Address is the
    # multiaddr a dialer needs: /ip4/127.0.0.1/tcp/<port>/p2p/<peer id>.
    $peers = @(
        Start-QuDagListener -Session $alice
        Start-QuDagListener -Session $bob
    )
    '== Embedded nodes'
    $peers | Format-List PeerId, Address | Out-Default

    # A multiaddr that ends in /p2p/<peer id> names the peer, so the address alone is enough; both connect
    # concurrently. (ForEach-Object Address, not $peers.Address: an array's own Address() method would win.)
    '== Connect (TCP, multistream-select, Noise or TLS 1.3, yamux)'
    $peers | ForEach-Object Address | Connect-QuDagPeer -PassThru | Out-Default

    # Identify (/ipfs/id/1.0.0) arrives on its own stream right after the connect: wait for it, bounded.
    '== Identify: what each node says about itself, and how the connection is secured'
    $deadline = [DateTime]::UtcNow.AddSeconds(10)
    while (@(Get-QuDagPeer | Where-Object { -not $_.AgentVersion }).Count -gt 0) {
        if ([DateTime]::UtcNow -gt $deadline) { throw 'No identify response within 10 seconds.' }
        Start-Sleep -Milliseconds 20
    }
    Get-QuDagPeer | Format-List ShortId, AgentVersion, ProtocolVersion, Protocols, Security, Muxer, ObservedAddress |
        Out-Default

    '== Messages (/qudag-ps/msg/1.0.0)'
    Send-QuDagMessage -PeerId $peers[0].PeerId -Message 'hello alice' -Count 3
    Send-QuDagMessage -PeerId $peers[1].PeerId -Message 'hello bob'
    Receive-QuDagMessage -Session $alice -Count 3 -TimeoutSeconds 10 | Out-Default
    Receive-QuDagMessage -Session $bob -TimeoutSeconds 10 | Out-Default

    '== Ping round trips (/ipfs/ping/1.0.0)'
    Test-QuDagPeer -PeerId $peers.PeerId -Count 3 | Out-Default

    '== Disconnect: the live connections wait in the idle pool'
    $peers | Disconnect-QuDagPeer
    Get-QuDagPool | Out-Default

    '== Reconnect: served from the pool, no new handshake (the address book knows where they are)'
    $peers.PeerId | Connect-QuDagPeer
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
