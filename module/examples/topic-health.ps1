<#
.SYNOPSIS
    Probes a gossipsub topic's health: the mesh against D_lo..D_hi, whether probes reach anyone, what arrives and how fast.
.DESCRIPTION
    Joins -Topic (connecting to -Address first, when given), publishes -Probes probe messages and counts the peers each
    reached, listens for -ListenSeconds, and writes one report object: the mesh size against D_lo (5) and D_hi (12),
    the subscribers, probes sent and failed (InsufficientPeers: nobody to send to), the peers they reached, messages
    received while listening with the delivery latency of those published by QuDag.PS nodes, and what the topic's
    Invalid and Dropped counters gained during the probe. Healthy is true when the mesh is within D_lo..D_hi and every
    probe reached a peer. Probes are JSON: {"probe":"<guid>","seq":N,"from":"<peer id>"}; a receiving QuDag.PS session
    measures each probe's latency from the publish time its sequence number carries.
.EXAMPLE
    ./module/examples/topic-health.ps1 -Topic qudag/blocks -Address /ip4/10.0.0.5/tcp/8000/p2p/12D3KooW... -Probes 20
.EXAMPLE
    ./module/examples/topic-health.ps1 -Topic qudag/blocks -ListenSeconds 30 | Export-Csv health.csv -Append
#>
#Requires -Version 7.4
[CmdletBinding()]
param(
    # The topic to probe.
    [Parameter(Mandatory)] [ValidateLength(1, 1024)] [string] $Topic,
    # Peers to connect to first (multiaddrs ending in /p2p/<peer id>).
    [string[]] $Address = @(),
    # Probe messages to publish.
    [ValidateRange(0, 10000)] [int] $Probes = 10,
    # How long to wait for the mesh to form before probing, at most.
    [ValidateRange(0, 3600)] [int] $WarmUpSeconds = 15,
    # How long to listen for the topic's messages after probing.
    [ValidateRange(0, 3600)] [int] $ListenSeconds = 5,
    # The session to probe from; the runspace's default session when omitted.
    [QuDag.PowerShell.QuDagSession] $Session
)
$ErrorActionPreference = 'Stop'
if (-not (Get-Module QuDag)) { Import-Module ([IO.Path]::Combine($PSScriptRoot, '../../QuDag.psd1')) }
$common = @{}
if ($Session) { $common.Session = $Session }
$dLow, $dHigh = 5, 12

foreach ($a in $Address) { $null = Connect-QuDagPeer -Address $a @common }
Register-QuDagTopic -Topic $Topic @common
$before = Get-QuDagTopic -Topic $Topic @common

# The mesh forms as subscriptions arrive and the heartbeat grafts: wait for D_lo peers, or for the warm-up to end.
$deadline = [DateTime]::UtcNow.AddSeconds($WarmUpSeconds)
while ((Get-QuDagTopic -Topic $Topic @common).MeshPeers -lt $dLow -and [DateTime]::UtcNow -lt $deadline) {
    Start-Sleep -Milliseconds 200
}

$me = (Get-QuDagSession @common).PeerId
$probeId = [guid]::NewGuid().ToString()
$reached = [Collections.Generic.List[int]]::new()
$failed = 0
for ($i = 1; $i -le $Probes; $i++) {
    $published = Send-QuDagMessage -Topic $Topic -Payload ([pscustomobject]@{ probe = $probeId; seq = $i; from = $me }) -PassThru `
        -ErrorAction SilentlyContinue -ErrorVariable refused @common
    if ($published) { $reached.Add($published.Peers) } else { $failed++ }
}

$received = @(Receive-QuDagMessage -Topic $Topic -Count ([int]::MaxValue) -TimeoutSeconds ([Math]::Max(1, $ListenSeconds)) -ErrorAction SilentlyContinue @common)
$after = Get-QuDagTopic -Topic $Topic @common
$latencies = @($received | Where-Object { $null -ne $_.LatencyMs } | ForEach-Object LatencyMs | Sort-Object)
function Get-Percentile([double[]] $Sorted, [double] $Q) {
    if ($Sorted.Count -eq 0) { return $null }
    $Sorted[[Math]::Min($Sorted.Count - 1, [Math]::Ceiling($Q * $Sorted.Count) - 1)]
}

$healthy = $after.MeshPeers -ge $dLow -and $after.MeshPeers -le $dHigh -and $failed -eq 0
$verdict = if ($after.MeshPeers -eq 0) { 'no mesh: no connected peer subscribes to the topic' }
    elseif ($after.MeshPeers -lt $dLow) { "mesh below D_lo ($($after.MeshPeers) of $dLow): connect to more peers of the topic" }
    elseif ($after.MeshPeers -gt $dHigh) { "mesh above D_hi ($($after.MeshPeers) of $dHigh): the next heartbeat prunes it" }
    elseif ($failed -gt 0) { "$failed probes reached no peer" }
    else { 'healthy' }
[pscustomobject]@{
    Topic          = $Topic
    Healthy        = $healthy
    Verdict        = $verdict
    MeshPeers      = $after.MeshPeers
    DLow           = $dLow
    DHigh          = $dHigh
    Subscribers    = $after.Subscribers
    ProbesSent     = $reached.Count
    ProbesFailed   = $failed
    MinPeersReached = if ($reached.Count) { ($reached | Measure-Object -Minimum).Minimum } else { 0 }
    Received       = $received.Count
    LatencySamples = $latencies.Count
    LatencyP50Ms   = Get-Percentile $latencies 0.50
    LatencyP95Ms   = Get-Percentile $latencies 0.95
    InvalidDelta   = $after.Invalid - $before.Invalid
    DroppedDelta   = $after.Dropped - $before.Dropped
}
