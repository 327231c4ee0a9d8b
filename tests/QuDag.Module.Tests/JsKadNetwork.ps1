# Many js-libp2p kad-dht nodes in one Node process (tests/interop/kad.mjs, unmodified js-libp2p 3.x and
# @libp2p/kad-dht 16.x from npm), driven from Pester with JsNode.ps1's line protocol. Dot-source after JsNode.ps1.

function Start-JsKadNetwork([int] $StartTimeoutSeconds = 30) {
    $process = Start-JsProcess @('kad.mjs')
    $stderr = $process.StandardError.ReadToEndAsync()
    $network = [pscustomobject]@{ Process = $process; Stderr = $stderr; NextId = 0; Nodes = @() }
    $ready = Read-JsLine $network { param($line) $line.event -in 'ready', 'fatal' } $StartTimeoutSeconds
    if ($ready.event -ne 'ready') { Stop-JsNode $network; throw "kad.mjs did not start: $($ready.error)" }
    $network
}

# Adds nodes (kad.mjs 'start') and waits, bounded, until js's routing tables stop growing.
function Add-JsKadNode($Network, [int] $Count, [string] $Topology = 'random', [int] $ClientEvery = 0) {
    $answer = Invoke-JsNode $Network 'start' @{ count = $Count; topology = $Topology; clientEvery = $ClientEvery; degree = 3; seed = 7 } -TimeoutSeconds 120
    $Network.Nodes += @($answer.nodes)
    $last = -1
    foreach ($attempt in 1..40) {
        $total = ((Invoke-JsNode $Network 'routingTables').tables | ForEach-Object { $_.peers.Count } | Measure-Object -Sum).Sum
        if ($total -gt 0 -and $total -eq $last) { break }
        $last = $total
        Start-Sleep -Milliseconds 500
    }
    @($answer.nodes)
}
