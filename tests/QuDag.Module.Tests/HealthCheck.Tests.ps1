# Test-QuDagPeer against a frozen peer: an unmodified js-libp2p node that completed its handshake and was then
# stopped with SIGSTOP, so its socket stays open and nothing ever answers. One such peer must neither hang the call
# nor hold up the pings of the others.
BeforeAll {
    . $PSScriptRoot/Common.ps1
    . $PSScriptRoot/JsNode.ps1

    # Runs Test-QuDagPeer in another runspace, so a hang fails a bounded wait instead of stalling the suite.
    function Start-HealthCheck([hashtable] $Parameters) {
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$Manifest'").AddStatement().AddCommand('Test-QuDagPeer').AddParameters($Parameters)
        [pscustomobject]@{ PowerShell = $ps; Async = $ps.BeginInvoke() }
    }

    function Wait-HealthCheck($Check, [int] $TimeoutSeconds = 60) {
        $Check.Async.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($TimeoutSeconds)) | Should -BeTrue -Because "Test-QuDagPeer must end by itself (waited $TimeoutSeconds s)"
        $output = $Check.PowerShell.EndInvoke($Check.Async)
        [pscustomobject]@{ Output = @($output); Errors = @($Check.PowerShell.Streams.Error) }
    }
}

Describe 'Test-QuDagPeer with a frozen peer among several' {
    BeforeAll {
        # Keepalive off: nothing but the tests' own pings touches the frozen connection or the ping count.
        $script:checker = New-QuDagSession -Name checker -KeepAliveSeconds 0
        $script:js = Start-JsNode -Listen
        $script:healthy = 1..3 | ForEach-Object { New-TestPeer }
        $address = @($js.Addresses | Where-Object { $_ -like '/ip4/127.0.0.1/tcp/*' })[0]
        Connect-QuDagPeer -Session $checker -Address $address -ErrorAction Stop
        $healthy | ForEach-Object { Connect-QuDagPeer -Session $checker -Address $_.Address -ErrorAction Stop }
        Test-QuDagPeer -Session $checker $js.PeerId -Count 1 -ErrorAction Stop | Out-Null # it answered while it ran
        & kill -STOP $js.Process.Id
        if ($LASTEXITCODE -ne 0) { throw "kill -STOP $($js.Process.Id) failed" }
        # Frozen first: pinged one after another, it would hold up every other peer.
        $script:ids = @($js.PeerId) + @($healthy.PeerId)
    }
    AfterAll {
        if ($js) {
            & kill -CONT $js.Process.Id
            Stop-JsNode $js -Kill
        }
        Clear-TestSessions
    }

    It 'pings the other peers while the frozen one''s ping still waits, and Ctrl+C ends the wait' {
        $before = (Get-QuDagMetrics -Session $checker).PingCount
        $check = Start-HealthCheck @{ Session = $checker; PeerId = $ids; Count = 1; TimeoutSeconds = 3600 }
        try {
            Wait-Until { (Get-QuDagMetrics -Session $checker).PingCount -ge $before + 3 } -TimeoutSeconds 30 -Because 'the three healthy peers'' round trips'
            $check.Async.IsCompleted | Should -BeFalse -Because 'the frozen peer''s ping is still waiting'
            $stop = $check.PowerShell.BeginStop($null, $null)
            $stop.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(10)) | Should -BeTrue
            $check.PowerShell.InvocationStateInfo.State | Should -Be 'Stopped'
        }
        finally { $check.PowerShell.Dispose() }
    }

    It 'gives the frozen peer a TimedOut result after -TimeoutSeconds and the others theirs, in the order given' {
        $result = Wait-HealthCheck (Start-HealthCheck @{ Session = $checker; PeerId = $ids; Count = 2; TimeoutSeconds = 1 })
        $result.Errors | Should -BeNullOrEmpty
        $result.Output.PeerId | Should -Be ($ids | ForEach-Object { $_, $_ })
        $result.Output.Sequence | Should -Be @(1, 2, 1, 2, 1, 2, 1, 2)
        $result.Output.Status | Should -Be (@('TimedOut', 'TimedOut') + @('Success') * 6)
        $result.Output[0..1] | ForEach-Object { $_.LatencyMs | Should -BeNullOrEmpty }
        $result.Output[2..7].LatencyMs | ForEach-Object { $_ | Should -BeGreaterThan 0 }
        # A timed-out ping is a result that pipes and exports like the others.
        $row = $result.Output[0] | ConvertTo-Csv | ConvertFrom-Csv
        $row.Status | Should -Be 'TimedOut'
        $row.LatencyMs | Should -BeNullOrEmpty
    }

    It 'answers -Quiet with $false for the frozen peer and $true for the others' {
        $result = Wait-HealthCheck (Start-HealthCheck @{ Session = $checker; PeerId = $ids; Quiet = $true; TimeoutSeconds = 1 })
        $result.Output | Should -Be @($false, $true, $true, $true)
        $result.Errors | Should -BeNullOrEmpty
    }

    It 'ends by itself under -ThrottleLimit 1, the others pinged once the frozen ping timed out' {
        $result = Wait-HealthCheck (Start-HealthCheck @{ Session = $checker; PeerId = $ids; Count = 1; TimeoutSeconds = 1; ThrottleLimit = 1 })
        $result.Output.Status | Should -Be @('TimedOut', 'Success', 'Success', 'Success')
        $result.Errors | Should -BeNullOrEmpty
    }
}
