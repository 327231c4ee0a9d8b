# New-, Get-, Set-, Reset-, Remove-QuDagSession and the lifetime of sessions.
BeforeAll {
    . $PSScriptRoot/Common.ps1
    . $PSScriptRoot/JsNode.ps1
}

Describe 'Sessions' {
    AfterEach { Clear-TestSessions }

    It 'creates, lists and finds sessions by unique -Name and by -Id' {
        $n = New-QuDagSession -Name extra -MaxConnections 7 -PoolTimeoutSeconds 60
        @(Get-QuDagSession -All).Count | Should -Be 2
        (Get-QuDagSession -Name extra).Id | Should -Be $n.Id
        (Get-QuDagSession -Name ext*).Name | Should -Be 'extra'
        (Get-QuDagSession -Id $n.Id).Name | Should -Be 'extra'
        { New-QuDagSession -Name EXTRA } | Should -Throw -ErrorId 'NewQuDagSessionNameInUse,QuDag.PowerShell.Commands.NewQuDagSessionCommand'
        Get-QuDagSession -Name missing -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'GetQuDagSessionNotFound,*'
    }

    It 'takes durations as seconds: a bare number, a TimeSpan or hh:mm:ss' {
        (New-QuDagSession -PoolTimeout 5).PoolTimeoutSeconds | Should -Be 5
        (New-QuDagSession -PoolTimeout '5').PoolTimeoutSeconds | Should -Be 5
        (New-QuDagSession -PoolTimeoutSeconds (New-TimeSpan -Minutes 2)).PoolTimeoutSeconds | Should -Be 120
        (New-QuDagSession -KeepAlive '00:00:30').KeepAliveSeconds | Should -Be 30
        $s = New-QuDagSession -KeepAliveSeconds 5 -KeepAliveTimeoutSeconds 7 -ConnectTimeoutSeconds 3 -CircuitBreakerSeconds 90 -AutoReconnect
        $s.KeepAliveSeconds | Should -Be 5
        $s.ConnectTimeoutSeconds | Should -Be 3
        $s.CircuitBreakerSeconds | Should -Be 90
        $s.AutoReconnect | Should -BeTrue
    }

    It 'refuses zero, negative and fractional durations at parameter binding' {
        { New-QuDagSession -PoolTimeoutSeconds 0 } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*' -ExpectedMessage '*0 is out of range: give 1 to *'
        { New-QuDagSession -PoolTimeout -1 } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*'
        { New-QuDagSession -KeepAliveTimeoutSeconds -3 } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*'
        { New-QuDagSession -PoolTimeout ([timespan]::FromMilliseconds(500)) } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*' -ExpectedMessage '*not a whole number of seconds*'
        { Set-QuDagSession -PoolTimeoutSeconds -1 -Force } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,*'
    }

    It 'validates settings together with a message naming the parameter' {
        { New-QuDagSession -CircuitBreakerThreshold 1 } |
            Should -Throw -ErrorId 'NewQuDagSessionInvalidSetting,QuDag.PowerShell.Commands.NewQuDagSessionCommand' -ExpectedMessage '-CircuitBreakerThreshold 1:*'
        try { New-QuDagSession -CircuitBreakerThreshold 1 } catch { $e = $_ }
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.TargetObject | Should -Be 'CircuitBreakerThreshold'
        "$e" | Should -Not -BeLike "*(Parameter '*"
    }

    It 'applies a lower -MaxConnections to the running node: the next connect is refused, nothing active is cut' {
        $peers = 1..3 | ForEach-Object { New-TestPeer }
        $peers[0..1] | Connect-QuDagPeer
        $s = Get-QuDagSession
        $manager = $s.Manager
        Set-QuDagSession -MaxConnections 1
        $s.Manager | Should -Be $manager # the same node, not a rebuilt one
        Connect-QuDagPeer $peers[2].PeerId $peers[2].Endpoint -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerLimitReached,*'
        $errs[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        @(Get-QuDagPeer | Where-Object Status -EQ Connected).Count | Should -Be 2
        $metrics = Get-QuDagMetrics
        $metrics.OpenConnections | Should -Be 2
        $metrics.MaxConnections | Should -Be 1
        $peers.AcceptedCount | Should -Be @(1, 1, 0)
    }

    It 'applies a shorter -ConnectTimeoutSeconds to the next connect, which fails as a counted Timeout' {
        # A TCP listener that is never read: the kernel accepts, the node never answers multistream-select.
        $silent = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $silent.Start()
        try {
            $id = New-TestPeerId
            New-QuDagSession -Name slow -ConnectTimeoutSeconds 60 | Out-Null
            Set-QuDagSession -Session (Get-QuDagSession -Name slow) -ConnectTimeoutSeconds 1
            Connect-QuDagPeer $id "$($silent.LocalEndpoint)" -Session (Get-QuDagSession -Name slow) -ErrorVariable errs -ErrorAction SilentlyContinue
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'ConnectQuDagPeerTimeout,*'
            "$($errs[0])" | Should -Match 'within the connect timeout \(1 s\)'
            $peer = Get-QuDagPeer $id -Session (Get-QuDagSession -Name slow)
            $peer.Status | Should -Be 'Failed'
            $peer.ConsecutiveFailures | Should -Be 1
            (Get-QuDagMetrics -Session (Get-QuDagSession -Name slow)).FailedConnects | Should -Be 1
        }
        finally { $silent.Stop() }
    }

    It 'turns keepalive on in place: a frozen js peer is failed without a restart' {
        $js = Start-JsNode -Listen
        try {
            $watcher = New-QuDagSession -Name watcher -KeepAliveSeconds 0
            $peer = Connect-QuDagPeer -Address $js.Addresses[0] -Session $watcher -PassThru
            Set-QuDagSession -Session $watcher -KeepAliveSeconds 1 -KeepAliveTimeoutSeconds 1
            & kill -STOP $js.Process.Id # frozen: the kernel still acknowledges TCP, js never answers a ping
            $failed = Wait-QuDagPeer $peer.PeerId -Status Failed -TimeoutSeconds 20 -Session $watcher -ErrorAction Stop
            $failed.Status | Should -Be 'Failed'
            (Get-QuDagMetrics -Session $watcher).KeepAliveFailures | Should -Be 1
        }
        finally {
            & kill -CONT $js.Process.Id
            Stop-JsNode $js -Kill
        }
    }

    It 'changes the pool timeout in place, and asks before a new identity restarts the node' {
        $peer = New-TestPeer
        Connect-QuDagPeer $peer.PeerId $peer.Endpoint
        $s = Get-QuDagSession
        $manager = $s.Manager
        Set-QuDagSession -PoolTimeoutSeconds 30 -RequestTimeoutSeconds 5 -KeepAliveSeconds 0
        $s.Manager | Should -Be $manager
        (Get-QuDagPeer $peer.PeerId).Status | Should -Be 'Connected'
        Disconnect-QuDagPeer $peer.PeerId
        (Get-QuDagPool).ExpiresInMs | Should -BeLessOrEqual 30000

        $id = $s.PeerId
        $mine = Start-QuDagListener
        $path = Join-Path $TestDrive 'restart.key'
        Set-QuDagSession -IdentityPath $path -WhatIf
        $s.PeerId | Should -Be $id
        Set-QuDagSession -IdentityPath $path -Force
        $s.PeerId | Should -Not -Be $id
        (Get-QuDagPeer $peer.PeerId).Endpoint | Should -Be $peer.Endpoint # the address book survived
        $s.Listeners | Should -Be @($mine.Endpoint)
        Connect-QuDagPeer $peer.PeerId # dials from the kept address book
        (Get-QuDagPeer $peer.PeerId).Status | Should -Be 'Connected'
    }

    It 'loads a new identity with -IdentityPath, and the same file gives the same identity' {
        $n = New-QuDagSession -Name idtest
        $path = Join-Path $TestDrive 'node.key'
        $changed = Set-QuDagSession -Session $n -MaxConnections 3 -IdentityPath $path -PassThru -Force
        $changed.MaxConnections | Should -Be 3
        $changed.PoolTimeoutSeconds | Should -Be 300
        Test-Path $path | Should -BeTrue
        (New-QuDagSession -IdentityPath $path).PeerId | Should -Be $changed.PeerId
    }

    It 'resets a session to empty' {
        $n = New-QuDagSession
        Set-QuDagPeerStatus -PeerId (New-TestPeerId) -Status Connected -Session $n
        Get-QuDagPeer -Session $n | Should -Not -BeNullOrEmpty
        Reset-QuDagSession -Session $n -Confirm:$false
        Get-QuDagPeer -Session $n | Should -BeNullOrEmpty
    }

    It 'removes sessions by object, -Name and -Id, and a new default replaces a removed one' {
        $a = New-QuDagSession -Name a
        $b = New-QuDagSession -Name b
        $c = New-QuDagSession -Name c
        $a | Remove-QuDagSession
        Remove-QuDagSession -Name b
        Remove-QuDagSession -Id $c.Id
        $a.IsDisposed, $b.IsDisposed, $c.IsDisposed | Should -Be @($true, $true, $true)
        (Get-QuDagSession -All).Name | Should -Not -Contain 'a'
        $default = Get-QuDagSession
        Remove-QuDagSession $default
        (Get-QuDagSession).PeerId | Should -Not -Be $default.PeerId
    }

    It 'says SessionClosed for a closed session, also in a thread job' {
        $n = New-QuDagSession
        $n.Dispose()
        $e = $null
        try { Get-QuDagPeer -Session $n } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeLike 'GetQuDagPeerSessionClosed,*'
        "$e" | Should -Be "The QuDag session '$($n.Name)' was closed; use Get-QuDagSession or New-QuDagSession for an open one."
        $job = Start-ThreadJob { param($s) Import-Module $using:Manifest; try { Send-QuDagMessage -Session $s '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA' 'x' } catch { $_.FullyQualifiedErrorId; "$_" } } -ArgumentList $n
        $id, $text = $job | Wait-Job -Timeout 30 | Receive-Job
        Remove-Job $job -Force
        $id | Should -BeLike 'SendQuDagMessageSessionClosed,*'
        $text | Should -Not -BeLike '*Cannot access a disposed object*' 
    }

    It 'says a removed session was removed, in the exception''s own message too, before and during a call' {
        $gone = New-QuDagSession -Name gone
        $job = Start-ThreadJob { param($s) Import-Module $using:Manifest; try { Receive-QuDagMessage -Session $s -TimeoutSeconds 60 } catch { $_.FullyQualifiedErrorId; $_.Exception.Message } } -ArgumentList $gone
        Wait-Until { $job.State -eq 'Running' } -Because 'the receive to start'
        Remove-QuDagSession $gone
        $removed = "The QuDag session 'gone' was removed (Remove-QuDagSession); use Get-QuDagSession or New-QuDagSession for an open one."
        $e = $null
        try { Get-QuDagPeer -Session $gone } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeLike 'GetQuDagPeerSessionClosed,*'
        $e.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        "$e" | Should -Be $removed
        $e.Exception.Message | Should -Be $removed
        $e.Exception | Should -BeOfType [ObjectDisposedException]
        # Whether the receive was already waiting or had not yet started, it stops saying the same.
        $id, $text = $job | Wait-Job -Timeout 30 | Receive-Job
        Remove-Job $job -Force
        $id | Should -BeLike 'ReceiveQuDagMessageSessionClosed,*'
        $text | Should -Be $removed
    }

    It 'gives two runspaces separate default sessions' {
        $other = [powershell]::Create()
        try {
            $otherId = $other.AddScript("Import-Module '$Manifest'; (Get-QuDagSession).PeerId").Invoke()[0]
            $mine = (Get-QuDagSession).PeerId
            $otherId | Should -Not -Be $mine
            (Get-QuDagSession).PeerId | Should -Be $mine
        }
        finally { $other.Dispose() }
    }

    It 'closes every socket of a runspace''s sessions on Remove-Module and on runspace close' {
        $before = Get-OpenSocketCount
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$Manifest'; `$p = Start-QuDagListener -Session (New-QuDagSession); Connect-QuDagPeer `$p.PeerId `$p.Endpoint; Start-QuDagListener | Out-Null").Invoke()
        (Get-OpenSocketCount) | Should -BeGreaterOrEqual ($before + 4) # two listeners, both ends of one connection
        $ps.Commands.Clear()
        $null = $ps.AddScript('Remove-Module QuDag').Invoke()
        Wait-Until { (Get-OpenSocketCount) -eq $before } -Because 'Remove-Module to close the sockets'
        $ps.Commands.Clear()
        $null = $ps.AddScript("Import-Module '$Manifest'; `$p = Start-QuDagListener -Session (New-QuDagSession); Connect-QuDagPeer `$p.PeerId `$p.Endpoint").Invoke()
        (Get-OpenSocketCount) | Should -BeGreaterOrEqual ($before + 3)
        $ps.Runspace.Dispose()
        $ps.Dispose()
        Wait-Until { (Get-OpenSocketCount) -eq $before } -Because 'closing the runspace to close the sockets'
    }
}
