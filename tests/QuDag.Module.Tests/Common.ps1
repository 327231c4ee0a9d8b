# Dot-sourced by every suite's BeforeAll: imports QuDag.psd1 as a user does and defines small helpers.
$script:RepoRoot = [IO.Path]::GetFullPath([IO.Path]::Combine($PSScriptRoot, '../..'))
$script:Manifest = [IO.Path]::Combine($RepoRoot, 'QuDag.psd1')
Import-Module $Manifest -Force
. ([IO.Path]::Combine($PSScriptRoot, 'NuGet.ps1'))
$PSStyle.OutputRendering = 'PlainText'

# A separate node with a listener: what a runbook's code dials as a production peer.
function New-TestPeer([string] $Name) {
    $session = if ($Name) { New-QuDagSession -Name $Name } else { New-QuDagSession }
    Start-QuDagListener -Session $session
}

# A valid libp2p peer id no session knows (a fresh Ed25519 identity's "12D3KooW..."), for unknown-peer cases.
function New-TestPeerId {
    $throwaway = New-QuDagSession
    try { $throwaway.PeerId } finally { Remove-QuDagSession $throwaway -Confirm:$false }
}

# Waits for a condition with a bounded timeout (never a bare sleep).
function Wait-Until([scriptblock] $Condition, [int] $TimeoutSeconds = 10, [string] $Because = 'the condition') {
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while (-not (& $Condition)) {
        if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out after $TimeoutSeconds s waiting for $Because." }
        [Threading.Thread]::Sleep(10)
    }
}

# Closes every session of this runspace, the default one included (the next command starts a new default).
function Clear-TestSessions {
    Get-QuDagSession -All | Remove-QuDagSession -Confirm:$false
}

# Runs script text in a fresh pwsh process (the same pwsh as this one) and returns exit code and output.
function Invoke-FreshPwsh([string] $Script, [hashtable] $Environment = @{}) {
    $pwshDll = [Environment]::GetCommandLineArgs()[0]
    $exe = (Get-Process -Id $PID).Path
    $arguments = @(if ($pwshDll -like '*.dll') { $pwshDll })
    $saved = @{}
    foreach ($key in $Environment.Keys) { $saved[$key] = [Environment]::GetEnvironmentVariable($key); [Environment]::SetEnvironmentVariable($key, $Environment[$key]) }
    # A scratch working directory: whatever the child writes relative to it stays out of the repository.
    $scratch = Join-Path ([IO.Path]::GetTempPath()) "qudag-pwsh-$([guid]::NewGuid().ToString('n'))"
    $null = New-Item -ItemType Directory $scratch
    Push-Location $scratch
    try {
        $env:NO_COLOR = '1'
        $output = & $exe @arguments -NoProfile -NonInteractive -Command $Script 2>&1 | ForEach-Object { "$_" }
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($output -join "`n") }
    }
    finally {
        Pop-Location
        Remove-Item -Recurse -Force $scratch -ErrorAction Ignore
        foreach ($key in $saved.Keys) { [Environment]::SetEnvironmentVariable($key, $saved[$key]) }
    }
}

# The embedded host (src/QuDag.Host), built by the test runner.
function Invoke-QuDagHost([string[]] $Arguments) {
    $hostDll = [IO.Path]::Combine($RepoRoot, 'src/QuDag.Host/bin/Debug/net10.0/qudag-host.dll')
    $env:QUDAG_MODULE = $Manifest
    $output = & dotnet $hostDll @Arguments 2>&1 | ForEach-Object { "$_" }
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($output -join "`n") }
}

# Sockets this process holds open (Linux), to prove sessions close theirs.
function Get-OpenSocketCount {
    @(Get-ChildItem /proc/self/fd -ErrorAction Ignore | Where-Object { $_.LinkTarget -like 'socket:*' }).Count
}

# Ctrl+C on a blocking command, as the console delivers it: runs $Script (after importing the module) in a runspace
# of its own, waits until $Command has really entered its wait (QuDagCmdlet writes "<command> waits" on the debug
# stream right before its pipeline thread blocks: not during Import-Module, binding or setup, where a stop would pass
# without the cmdlet's help), checks it still waits, then stops the pipeline. Returns whether it was waiting, whether
# the stop completed within $StopSeconds, and the state the pipeline ended in. Give the command a -TimeoutSeconds of
# its own: when a stop fails, that ends the pipeline, so neither Dispose nor the test run hangs.
function Stop-WhenWaiting([string] $Script, [string] $Command, [int] $StopSeconds = 10) {
    $ps = [powershell]::Create()
    try {
        $null = $ps.AddScript("Import-Module '$Manifest'; `$DebugPreference = 'Continue'; $Script")
        $async = $ps.BeginInvoke()
        Wait-Until { $async.IsCompleted -or @($ps.Streams.Debug.ReadAll() | Where-Object Message -Like "$Command waits*").Count -gt 0 } -TimeoutSeconds 60 -Because "$Command to enter its wait"
        $waiting = -not $async.IsCompleted
        $stop = $ps.BeginStop($null, $null)
        $stopped = $stop.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($StopSeconds))
        [pscustomobject]@{ Waiting = $waiting; Stopped = $stopped; State = $ps.InvocationStateInfo.State }
    }
    finally { $ps.Dispose() }
}

# A job's output, once it has ended within $TimeoutSeconds; the job is removed. Never Receive-Job -Wait -AutoRemoveJob:
# when the job ends while Receive-Job registers for its events, pwsh 7.6 removes it twice ("Job repository does not
# contain an item with ID ..."); Wait-Job first leaves Receive-Job nothing to race.
function Receive-TestJob([Parameter(ValueFromPipeline)] [System.Management.Automation.Job[]] $Job, [int] $TimeoutSeconds = 60) {
    begin { $jobs = [Collections.Generic.List[System.Management.Automation.Job]]::new() }
    process { $jobs.AddRange($Job) }
    end {
        try {
            $ended = @($jobs | Wait-Job -Timeout $TimeoutSeconds)
            if ($ended.Count -ne $jobs.Count) { throw "Timed out after $TimeoutSeconds s waiting for $($jobs.Count - $ended.Count) job(s) to end." }
            $jobs | Receive-Job
        }
        finally { $jobs | Remove-Job -Force }
    }
}
