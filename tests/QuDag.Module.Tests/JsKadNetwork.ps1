# Many js-libp2p kad-dht nodes in one Node process (tests/interop/kad.mjs, unmodified js-libp2p 3.x and
# @libp2p/kad-dht 16.x from npm), started and driven by JsNode.ps1 (Start-JsNode -Script kad.mjs). Dot-source after JsNode.ps1.

function Start-JsKadNetwork([int] $StartTimeoutSeconds = 30) {
    $network = Start-JsNode -Script 'kad.mjs' -StartTimeoutSeconds $StartTimeoutSeconds
    $network | Add-Member -NotePropertyName Nodes -NotePropertyValue @()
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
